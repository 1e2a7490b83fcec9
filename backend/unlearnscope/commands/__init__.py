"""The `unlearnscope` command: one module per command, each owning its arguments
(`add_arguments(parser)`) and its body (`run(args) -> exit code`).

- `main.py`       the dispatcher (`unlearnscope COMMAND ...`, `python -m unlearnscope`)
- `run.py`        a run, headless, with a console view (`console.py`)
- `presets.py`    the presets
- `sweep.py`      a grid of runs, one after another
- `serve.py`      the dashboard server
- `reproduce.py`  the paper's protocol per seed; the defences compared
- `report.py`     a stored run as an HTML report and a clip
- `bench.py`      the benchmarks side by side, and their targets
- `inputs.py`     what every command shares: its input error, config files, the one path
                  from a preset and overrides to a RunConfig
"""
