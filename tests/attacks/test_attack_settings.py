"""An attack's settings live in its folder (ml/attacks/<name>/settings.py) and nest under
`attack.settings`; the flat fields of older versions still read, and every backdoored
model cached before the nesting keeps its cache key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from unlearnscope.config import AttackConfig, RunConfig, describe_errors
from unlearnscope.storage.upgrade import current_names

# Recorded with the flat AttackConfig (before the nesting): every preset's attack and one
# config of each attack with every one of its fields changed.
KEYS = json.loads((Path(__file__).parent / "data" / "attack_cache_keys.json").read_text())


@pytest.mark.parametrize("case", KEYS, ids=lambda c: c["flat"].get("kind", "default"))
def test_flat_configs_keep_their_model_cache_keys(case: dict) -> None:
    assert AttackConfig.model_validate(case["flat"]).key_fields() == case["key_fields"]


def test_the_flat_and_the_nested_form_are_the_same_config() -> None:
    flat = AttackConfig.model_validate({"kind": "wanet", "wanet_grid": 8, "wanet_strength": 0.75})
    nested = AttackConfig.model_validate(
        {"kind": "wanet", "settings": {"grid": 8, "strength": 0.75}}
    )
    assert flat == nested
    assert nested.settings == {
        "grid": 8,
        "strength": 0.75,
        "cross_ratio": 2.0,
        "pattern_seed": 1234,
    }
    # another attack's flat field never had an effect: it is dropped, not an error
    assert AttackConfig.model_validate({"kind": "sig", "trigger_size": 5}) == AttackConfig(
        kind="sig"
    )


def test_bad_settings_are_refused_at_their_nested_path() -> None:
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "sig", "settings": {"delta": 0}}})
    assert describe_errors(err.value.errors())[0].startswith("attack.settings.delta:")
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "sig", "sig_delta": 0}})  # the flat name
    assert describe_errors(err.value.errors())[0].startswith("attack.settings.delta:")
    with pytest.raises(ValidationError) as err:
        RunConfig.model_validate({"attack": {"kind": "badnets", "settings": {"nope": 1}}})
    assert describe_errors(err.value.errors())[0].startswith("attack.settings.nope: unknown field")
    with pytest.raises(ValidationError, match="given twice"):
        AttackConfig.model_validate({"trigger_size": 4, "settings": {"trigger_size": 5}})
    with pytest.raises(ValidationError, match="unknown attack 'nope'"):
        AttackConfig.model_validate({"kind": "nope"})


def test_settings_that_do_not_fit_the_image_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"attack\.settings\.grid=40 is finer than the image"):
        RunConfig.model_validate({"attack": {"kind": "wanet", "settings": {"grid": 40}}})
    with pytest.raises(ValidationError, match=r"attack\.settings\.trigger_size=40 does not fit"):
        RunConfig.model_validate({"attack": {"settings": {"trigger_size": 40}}})


def test_a_stored_flat_config_reads_in_the_nested_form() -> None:
    """A run config stored by an older version (every flat field of every attack, as the
    flat model dumped it) reads as the nested config it is today."""
    old = {k: v for case in KEYS for k, v in case["key_fields"].items()}
    old |= {"kind": "wanet", "wanet_grid": 8, "sig_delta": 30.0, "ia_cross_rate": 0.2}
    upgraded = current_names({"name": "old", "attack": old})["attack"]
    assert set(upgraded) == {"kind", "target_class", "poison_rate", "settings"}
    assert AttackConfig.model_validate(upgraded) == AttackConfig.model_validate(old)
    assert upgraded["settings"]["grid"] == 8
