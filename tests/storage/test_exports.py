"""metrics.csv / metrics.json: monitor measurements land on the row of their own step."""

from __future__ import annotations

import csv
import io
import json

from unlearnscope.events import Measurement, StepMetrics
from unlearnscope.storage.exports import metrics_csv, metrics_json


def _step(step: int) -> StepMetrics:
    return StepMetrics(
        step=step,
        phase_index=0,
        phase_step=step,
        kind="ascent",
        loss=-1.0,
        ce_loss=1.0,
        ewc_penalty=0.0,
        lr=0.01,
        grad_norm=1.0,
        step_time=0.01,
        monitor_time=0.0,
    )


def test_late_measurements_are_merged_into_their_steps_row() -> None:
    # The monitor reports step 1 after step 3 was taken, and step 2 in two parts.
    events = [
        _step(1),
        _step(2),
        _step(3),
        Measurement(step=1, phase_index=0, asr=90.0, ca=80.0, lag=2),
        Measurement(step=2, phase_index=0, tar_median=2.5),
        Measurement(step=2, phase_index=0, asr=40.0),
    ]
    rows = list(csv.DictReader(io.StringIO(metrics_csv(events))))
    assert [r["step"] for r in rows] == ["1", "2", "3"]
    assert (rows[0]["asr"], rows[0]["ca"], rows[0]["tar_median"]) == ("90.0", "80.0", "")
    assert (rows[1]["asr"], rows[1]["tar_median"]) == ("40.0", "2.5")
    assert rows[2]["asr"] == "" and rows[2]["tar_median"] == ""
    out = json.loads(metrics_json({}, events))
    assert [m["step"] for m in out["measurements"]] == [1, 2, 2]
