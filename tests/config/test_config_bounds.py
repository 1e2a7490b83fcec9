"""Issue 11: a RunConfig that validates can run; one that cannot is refused naming the field."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from unlearnscope.config import RunConfig, describe_errors
from unlearnscope.presets import PRESETS

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"seed": 2**64}, "seed", "less than or equal"),
        ({"seed": -(2**64)}, "seed", "greater than or equal"),
        (
            {"attack": {"settings": {"pattern_seed": 2**70}}},
            "attack.settings.pattern_seed",
            "less than or equal",
        ),
        ({"model": {"cam_layer": "no.such.layer"}}, "model.cam_layer", "no layer 'no.such.layer'"),
        ({"training": {"lr": INF}}, "training.lr", "finite number"),
        ({"training": {"weight_decay": INF}}, "training.weight_decay", "finite number"),
        ({"data": {"mean": [NAN, 0.5, 0.5]}}, "data.mean.0", "finite number"),
        ({"data": {"std": [0, 0.25, 0.25]}}, "data.std.0", "greater than 0"),
        (
            {"schedule": [{"kind": "ascent", "steps": 2, "lr": NAN}]},
            "schedule.0.lr",
            "finite number",
        ),
        (
            {"schedule": [{"kind": "ascent", "steps": 2, "lr": 0.1, "ewc_lambda": INF}]},
            "schedule.0.ewc_lambda",
            "finite number",
        ),
        (
            {"schedule": [{"kind": "ascent", "steps": 2, "lr": 0.1, "clip_norm": INF}]},
            "schedule.0.clip_norm",
            "finite number",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_field(raw: dict, field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        RunConfig.model_validate(raw)
    lines = describe_errors(info.value.errors())
    assert any(line.startswith(f"{field}: ") and words in line for line in lines), lines


def test_a_real_cam_layer_is_accepted() -> None:
    cfg = RunConfig.model_validate({"model": {"cam_layer": "net.features.stage2"}})
    assert cfg.model.cam_layer == "net.features.stage2"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_round_trips_through_json(name: str) -> None:
    """A stored config (JSON) must always be valid to resubmit: no NaN read back as null."""
    cfg = RunConfig.model_validate(PRESETS[name])
    again = RunConfig.model_validate(json.loads(cfg.model_dump_json()))
    assert again == cfg
