"""Activation clustering (Chen, Carvalho, Baracaldo, Ludwig, Edwards, Lee, Molloy &
Srivastava, "Detecting Backdoor Attacks on Deep Neural Networks by Activation
Clustering", SafeAI@AAAI 2019; arXiv 1811.03728, 2018).

For each class c: take the penultimate activations of its samples, reduce them to 10
dimensions (the paper uses independent component analysis and also reports PCA; ours
defaults to PCA, `method: ica` gives FastICA), split them into two clusters with
k-means, and judge the split:

- relative size: the smaller cluster holds at most `size_threshold` (0.35) of the class
  (a backdoor's samples form a small, separate cluster);
- silhouette: the two clusters are well separated, silhouette score
      s = mean_i (b_i - a_i) / max(a_i, b_i) ≥ `silhouette_threshold` (0.10)
  (a_i the mean distance to its own cluster, b_i to the other).

A class whose split passes both tests is judged poisoned and the samples of its smaller
cluster are flagged. Both, not either: the features of a trained network fall into
sub-modes in clean classes too, and on the demo model every clean class's 2-means split
had a silhouette of 0.20-0.38 (the poisoned class 0.49), so the silhouette alone would
flag 40% of the training set; the size rule is the paper's main test and the silhouette
keeps a small but unseparated split from counting. scikit-learn does the ICA (FastICA),
k-means and silhouette.

Each sample's score, for the histogram, is how much nearer it lies to its class's smaller
cluster than to the larger, (d_large - d_small) / (d_large + d_small) in [-1, 1]: above 0
it is in the smaller cluster. Only the samples of classes judged poisoned are flagged, so
there is no single cut on the score.

Why PCA by default: ICA whitens every component to unit variance and, on a class whose
poisoned samples differ from the rest along one dominant direction, scikit-learn's FastICA
spread that direction over several components (correlation with the truth 0.2-0.5 each,
tests/ml/detection), after which 2-means split the class in half along noise. PCA keeps
the dominant direction's variance, and 2-means finds the poison.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .result import Detection, per_class

SILHOUETTE_SAMPLE = 2000  # silhouette on a seeded sample of at most this many (O(n^2))


def _reduce(x: np.ndarray, dims: int, method: str, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA, FastICA

    k = max(1, min(dims, x.shape[1], x.shape[0] - 1))
    if method == "pca":
        return np.asarray(PCA(n_components=k, random_state=seed).fit_transform(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastICA's convergence warning on small classes
        ica = FastICA(
            n_components=k,
            algorithm="deflation",
            random_state=seed,
            max_iter=400,
            whiten="unit-variance",
        )
        return np.asarray(ica.fit_transform(x))


def analyse_class(
    x: np.ndarray, dims: int, method: str, seed: int
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """One class: (margin (n,) towards the smaller cluster, in_small (n,) bool, relative
    size of the smaller cluster, silhouette score of the split)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    z = _reduce(x, dims, method, seed)
    km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(z)
    assign = np.asarray(km.labels_)
    sizes = np.bincount(assign, minlength=2)
    small = int(np.argmin(sizes))
    if sizes.min() == 0:
        return np.full(len(x), -1.0), np.zeros(len(x), dtype=bool), 0.0, 0.0
    d = np.linalg.norm(z[:, None, :] - km.cluster_centers_[None, :, :], axis=2)  # (n, 2)
    d_small, d_large = d[:, small], d[:, 1 - small]
    margin = (d_large - d_small) / np.maximum(d_large + d_small, 1e-12)
    sil = float(
        silhouette_score(z, assign, sample_size=min(len(z), SILHOUETTE_SAMPLE), random_state=seed)
    )
    return margin, assign == small, float(sizes[small] / len(x)), sil


def activation_clustering(
    feats: torch.Tensor,
    labels: torch.Tensor,
    n_classes: int,
    dims: int = 10,
    method: str = "pca",
    size_threshold: float = 0.35,
    silhouette_threshold: float = 0.10,
    seed: int = 0,
) -> Detection:
    """Flag the smaller activation cluster of every class whose 2-means split is small
    enough or separated enough."""
    n = len(feats)
    scores = np.full(n, -1.0)
    flagged = torch.zeros(n, dtype=torch.bool)
    sizes: list[float] = []
    sils: list[float] = []
    suspects: list[int] = []
    x_all = feats.double().numpy()
    for c, idx in enumerate(per_class(labels, n_classes)):
        if len(idx) < 4:
            sizes.append(float("nan"))
            sils.append(float("nan"))
            continue
        margin, in_small, rel, sil = analyse_class(x_all[idx.numpy()], dims, method, seed)
        scores[idx.numpy()] = margin
        sizes.append(rel)
        sils.append(sil)
        if rel <= size_threshold and sil >= silhouette_threshold:
            suspects.append(c)
            flagged[idx[torch.from_numpy(in_small)]] = True
    return Detection(
        scores=torch.from_numpy(scores).float(),
        flagged=flagged,
        threshold=None,
        score_label="nearness to its class's smaller cluster (> 0: in it)",
        rule=f"the smaller of two {method.upper()}-{dims} k-means clusters, in classes "
        f"where it holds ≤ {100 * size_threshold:.3g}% of the class and the silhouette "
        f"is ≥ {silhouette_threshold:g}",
        class_stats={"relative_size": sizes, "silhouette": sils},
        suspect_classes=suspects,
        class_rule=("relative_size", size_threshold, "below"),
    )
