"""Sweep grids (sweeps.py): every cell a validated RunConfig."""

from __future__ import annotations

from unlearnscope.sweeps import SweepSpec, expand


def test_a_grid_over_attacks_gives_each_attack_its_own_settings() -> None:
    spec = SweepSpec.model_validate(
        {
            "name": "attacks",
            "preset": "tiny",
            "base": {"attack": {"settings": {"trigger_size": 4}}},
            "grid": {"attack.kind": ["badnets", "wanet"], "attack.settings.pattern_seed": [7]},
        }
    )
    badnets, wanet = (cell.config.attack for cell in expand(spec))
    assert badnets.kind == "badnets" and badnets.settings["trigger_size"] == 4
    assert wanet.kind == "wanet" and "trigger_size" not in wanet.settings
    assert wanet.settings["grid"] == 4  # WaNet's default
    assert badnets.settings["pattern_seed"] == wanet.settings["pattern_seed"] == 7
