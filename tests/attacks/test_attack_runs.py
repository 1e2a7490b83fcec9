"""End to end on the tiny preset, once per attack: the run completes, TAR and the
localisation metrics are finite, RA is reported, and the probes carry their region."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from unlearnscope.config import ATTACKS
from unlearnscope.events import (
    Evaluation,
    EventBase,
    Measurement,
    ProbesEvent,
    RunFinished,
    RunStarted,
    SampleReport,
)
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus


@pytest.mark.parametrize("kind", ATTACKS)
def test_each_attack_runs_end_to_end_with_its_region(kind: str, model_cache: Path) -> None:
    events: list[EventBase] = []
    cfg = preset_config("tiny", {"attack": {"kind": kind}, "monitor": {"budget": 0.0}})
    engine = Engine(cfg, events.append, device="cpu", store=FileModelStore(model_cache))
    assert engine.run() is RunStatus.COMPLETED

    started = next(e for e in events if isinstance(e, RunStarted))
    probes = next(e for e in events if isinstance(e, ProbesEvent))
    assert probes.region is not None
    p, s = len(probes.indices), probes.size
    region = np.frombuffer(probes.region, np.uint8).reshape(p, s, s)
    assert set(np.unique(region)) <= {0, 1} and (region.reshape(p, -1).sum(1) > 0).all()
    if kind == "badnets":
        assert started.trigger_box is not None and started.trigger_region == (
            "trigger patch (its mask)"
        )
        assert started.trigger_box is not None
        x0, y0, x1, y1 = started.trigger_box
        assert region[:, y0:y1, x0:x1].all() and region.sum() == p * (x1 - x0) * (y1 - y0)
    else:
        assert started.trigger_box is None
        assert started.trigger_region is not None and "changed" in started.trigger_region
        # default: a 3x3 patch's share of 32x32 -> ceil(0.879% of 1024) = 9 pixels
        assert (region.reshape(p, -1).sum(1) == 9).all()
        # the region lies where the trigger changed the probe most
        images = np.frombuffer(probes.images, np.uint8).reshape(p, 2, s, s, 3).astype(int)
        change = np.abs(images[:, 1] - images[:, 0]).sum(-1)  # (P, H, W)
        for i in range(p):
            inside, outside = change[i][region[i] == 1], change[i][region[i] == 0]
            assert inside.min() >= outside.max() - 3  # up to uint8 rounding

    evals = [e for e in events if isinstance(e, Evaluation)]
    for e in evals:
        for v in (e.tar_median, e.mass_fraction, e.rank_accuracy, e.pointing, e.auc, e.ra):
            assert v is not None and math.isfinite(v)
        assert e.auc is not None and e.rank_accuracy is not None and e.ra is not None
        assert e.asr is not None
        assert 0 <= e.auc <= 1 and 0 <= e.rank_accuracy <= 1 and 0 <= e.ra <= 100
        assert e.asr + e.ra <= 100 + 1e-6  # an image is counted by one at most
    measured = [e for e in events if isinstance(e, Measurement) and e.asr is not None]
    assert measured and all(m.ra is not None for m in measured)
    tars = [e for e in events if isinstance(e, Measurement) and e.tar_median is not None]
    assert tars and all(m.auc is not None and math.isfinite(m.auc) for m in tars)
    finished = next(e for e in events if isinstance(e, RunFinished))
    assert finished.before["ra"] is not None and finished.after["ra"] is not None

    # the sample inspector: any test image's trigger region comes with its TAR, for the
    # outline on its overlays, and it is where the trigger changed that image
    engine.handle({"op": "inspect", "request_id": "r", "index": 5})
    report = next(e for e in events if isinstance(e, SampleReport))
    assert report.tar is not None and math.isfinite(report.tar) and report.region is not None
    where = np.frombuffer(report.region, np.uint8).reshape(s, s)
    pair = np.frombuffer(report.images, np.uint8).reshape(2, s, s, 3).astype(int)
    if kind == "badnets":
        assert started.trigger_box is not None
        x0, y0, x1, y1 = started.trigger_box
        assert where[y0:y1, x0:x1].all() and where.sum() == (x1 - x0) * (y1 - y0)
    else:
        assert where.sum() == 9
        change = np.abs(pair[1] - pair[0]).sum(-1)
        assert change[where == 1].min() >= change[where == 0].max() - 3
