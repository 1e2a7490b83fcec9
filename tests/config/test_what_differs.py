"""What differs between runs counts every phase setting (comparison.diff_rows and
diff_labels), and a sweep's cells are named by what differs (sweeps.expand): no two alike."""

from __future__ import annotations

from typing import Any

from unlearnscope.comparison import as_run, diff_labels, diff_rows
from unlearnscope.presets import preset_config
from unlearnscope.sweeps import SweepSpec, expand, run_name


def tiny(**over: Any) -> dict[str, Any]:
    return preset_config("tiny", over).model_dump(mode="json")


def with_phase(config: dict[str, Any], index: int, **fields: Any) -> dict[str, Any]:
    schedule = [dict(p) for p in config["schedule"]]
    schedule[index] = {**schedule[index], **fields}
    return {**config, "schedule": schedule}


def test_schedules_that_differ_in_a_phase_lr_are_told_apart() -> None:
    a, b = with_phase(tiny(), 1, lr=0.01), with_phase(tiny(), 1, lr=0.02)
    assert diff_labels([a, b]) == ["recovery lr=0.01", "recovery lr=0.02"]
    assert diff_rows([a, b]) == [
        {"path": "schedule.1.lr", "name": "recovery lr", "values": ["0.01", "0.02"]}
    ]


def test_every_phase_setting_counts_kind_settings_and_weights_too() -> None:
    base = tiny()
    a = with_phase(base, 0, batch_size=16, ewc_lambda=10.0)
    b = with_phase(base, 0, batch_size=32, ewc_lambda=20.0)
    names = [r["name"] for r in diff_rows([a, b])]
    assert names == ["ascent batch_size", "ascent ewc_lambda"]
    c = with_phase(base, 1, settings={"x": 1})
    d = with_phase(base, 1, settings={"x": 2})
    assert diff_labels([c, d]) == ["recovery settings.x=1", "recovery settings.x=2"]


def test_a_kind_twice_is_named_by_its_phase() -> None:
    base = tiny()
    base["schedule"] = [base["schedule"][1], dict(base["schedule"][1])]
    a, b = with_phase(base, 1, steps=5), with_phase(base, 1, steps=7)
    assert diff_labels([a, b]) == ["phase 2 recovery steps=5", "phase 2 recovery steps=7"]


def test_schedules_of_other_kinds_read_in_words_and_keep_same_kind_differences() -> None:
    a = with_phase(tiny(), 0, lr=0.5)
    b = tiny()
    b["schedule"] = [b["schedule"][0]]
    labels = diff_labels([a, b])
    assert labels[0] == "schedule: ascent 4 → recovery 4, ascent lr=0.5"
    assert labels[1] == "schedule: ascent 4, ascent lr=0.01"


def test_the_schedule_in_force_is_what_is_compared() -> None:
    planned = tiny()
    edited = with_phase(planned, 1, steps=50)
    run_a = as_run(planned, edited["schedule"])
    assert diff_labels([run_a, planned]) == ["recovery steps=50", "recovery steps=4"]
    assert as_run(planned, None) == planned  # no schedule recorded: the config's


def test_sweep_cells_over_whole_schedules_differing_in_lr_have_distinct_names() -> None:
    one = [{"kind": "recovery", "steps": 3, "lr": 0.01}]
    two = [{"kind": "recovery", "steps": 3, "lr": 0.02}]
    cells = expand(SweepSpec(name="lr", preset="tiny", grid={"schedule": [one, two]}))
    assert [c.config.name for c in cells] == [
        "lr [schedule=recovery lr=0.01]",
        "lr [schedule=recovery lr=0.02]",
    ]
    configs = [c.config.model_dump(mode="json") for c in cells]
    assert diff_labels(configs) == ["recovery lr=0.01", "recovery lr=0.02"]


def test_sweep_names_stay_apart_with_a_long_sweep_name_and_repeated_values() -> None:
    cells = expand(SweepSpec(name="x" * 80, preset="tiny", grid={"schedule.0.lr": [0.01, 0.02]}))
    names = [c.config.name for c in cells]
    assert len(set(names)) == 2 and all(len(n) <= 100 for n in names)
    assert all(
        n.endswith(f"[schedule.0.lr={v}]") for n, v in zip(names, ["0.01", "0.02"], strict=True)
    )
    twice = expand(SweepSpec(name="s", preset="tiny", grid={"seed": [1, 1]}))
    assert [c.config.name for c in twice] == ["s [seed=1 #1]", "s [seed=1 #2]"]


def test_a_label_too_long_to_fit_keeps_its_cell_number() -> None:
    name = run_name("sweep", "a" * 150, 6)
    assert len(name) <= 100 and "#7" in name
