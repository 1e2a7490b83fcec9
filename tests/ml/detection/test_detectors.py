"""Known answers for the poison detectors: a planted, separable poison cluster is found
(recall 1.0 at each detector's stated threshold), and on clean data the flagged count stays
within each detector's stated false-positive budget."""

from __future__ import annotations

import math

import pytest
import torch

from unlearnscope.ml.detection.clustering import activation_clustering
from unlearnscope.ml.detection.isolation import abl_isolation, sample_losses
from unlearnscope.ml.detection.quality import detection_quality, score_histogram
from unlearnscope.ml.detection.scan import scan
from unlearnscope.ml.detection.spectral import spectral_signatures

K, D, PER_CLASS, N_POISON, TARGET = 10, 24, 300, 45, 3


def clean_features(seed: int, draw: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """PER_CLASS samples of each of K Gaussian classes (centres from `seed`; `draw`: another
    sample of the same classes)."""
    centres = 4 * torch.randn(K, D, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(K).repeat_interleave(PER_CLASS)
    g = torch.Generator().manual_seed(1000 * draw + seed + 1)
    feats = centres[labels] + torch.randn(len(labels), D, generator=g)
    return feats, labels


def planted(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Clean classes plus N_POISON samples relabelled TARGET, as a dirty-label attack makes
    them: images of other classes whose features carry a trigger feature on top, so they sit
    in a tight cluster of their own, apart from the target class's own samples."""
    feats, labels = clean_features(seed)
    g = torch.Generator().manual_seed(seed + 1)
    trigger = torch.randn(D, generator=g)
    trigger = 8 * trigger / trigger.norm()
    sources = torch.nonzero(labels != TARGET).flatten()
    picked = sources[torch.randperm(len(sources), generator=g)[:N_POISON]]
    poison = 0.5 * feats[picked] + trigger + 0.3 * torch.randn(N_POISON, D, generator=g)
    all_feats = torch.cat([feats, poison])
    all_labels = torch.cat([labels, torch.full((N_POISON,), TARGET)])
    truth = torch.cat(
        [torch.zeros(len(labels), dtype=torch.bool), torch.ones(N_POISON, dtype=torch.bool)]
    )
    return all_feats, all_labels, truth


def trusted_clean(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """The defender's clean set: another draw of the same classes."""
    return clean_features(seed, draw=1)


def test_spectral_finds_the_planted_cluster():
    feats, labels, truth = planted()
    det = spectral_signatures(feats, labels, K, expected_rate=0.1)
    q = detection_quality(det, truth)
    assert q["recall"] == 1.0
    assert q["auc"] > 0.99
    # the cut on the shown score is 1: flagged is exactly scores >= 1
    assert torch.equal(det.flagged, det.scores >= det.threshold)


def test_activation_clustering_finds_the_planted_cluster():
    feats, labels, truth = planted()
    det = activation_clustering(feats, labels, K, seed=0)
    q = detection_quality(det, truth)
    assert q["recall"] == 1.0
    assert TARGET in det.suspect_classes
    assert q["precision"] == 1.0


def test_scan_finds_the_planted_cluster():
    feats, labels, truth = planted()
    cf, cl = trusted_clean()
    det = scan(feats, labels, cf, cl, K, seed=0)
    q = detection_quality(det, truth)
    assert det.suspect_classes == [TARGET]
    assert q["recall"] == 1.0
    assert q["precision"] == 1.0


def test_abl_isolation_flags_the_lowest_losses():
    g = torch.Generator().manual_seed(0)
    n = 1000
    labels = torch.randint(K, (n,), generator=g)
    logits = torch.randn(n, K, generator=g)
    truth = torch.zeros(n, dtype=torch.bool)
    truth[:10] = True
    logits[:10, :] = -20.0
    logits[torch.arange(10), labels[:10]] = 20.0  # the backdoor's samples: near-zero loss
    det = abl_isolation(sample_losses(logits, labels), ratio=0.01)
    q = detection_quality(det, truth)
    assert q["recall"] == 1.0 and q["precision"] == 1.0
    assert int(det.flagged.sum()) == 10
    assert torch.equal(det.flagged, det.scores >= det.threshold)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_clean_data_the_false_positives_stay_within_budget(seed):
    feats, labels = clean_features(seed)
    n = len(feats)
    # spectral removes exactly 1.5 eps of every class, whatever the data
    spec = spectral_signatures(feats, labels, K, expected_rate=0.05)
    assert int(spec.flagged.sum()) <= math.floor(1.5 * 0.05 * PER_CLASS) * K
    # ABL isolates exactly ceil(p N)
    losses = sample_losses(torch.randn(n, K), labels)
    assert int(abl_isolation(losses, 0.01).flagged.sum()) == math.ceil(0.01 * n)
    # AC and SCAn judge classes first: clean Gaussian classes are not split
    ac = activation_clustering(feats, labels, K, seed=seed)
    assert ac.suspect_classes == [] and int(ac.flagged.sum()) == 0
    cf, cl = trusted_clean(seed)
    sc = scan(feats, labels, cf, cl, K, seed=seed)
    assert sc.suspect_classes == [] and int(sc.flagged.sum()) == 0


def test_histogram_splits_by_truth_and_counts_every_sample():
    feats, labels, truth = planted()
    det = spectral_signatures(feats, labels, K, expected_rate=0.1)
    hist = score_histogram(det.scores, truth)
    assert len(hist["edges"]) == len(hist["clean"]) + 1
    assert sum(hist["clean"]) == int((~truth).sum())
    assert sum(hist["poisoned"]) == N_POISON
    alone = score_histogram(det.scores, None)
    assert sum(alone["counts"]) == len(feats)
