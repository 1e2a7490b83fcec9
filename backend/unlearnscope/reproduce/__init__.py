"""`unlearnscope reproduce`: the paper's protocol end to end, per seed, as one table.

For each seed: load the data; train (or load from the cache) the clean reference model and
the BadNets-backdoored model; estimate the Fisher and unlearn with the preset's schedule;
evaluate on the full test set. The table holds the clean model's CA (and its ASR: the floor
a model that never saw the poison has), the backdoored CA and ASR, CA and ASR after
unlearning, CA retention (after / backdoored), ASR reduction, TAR median before and after,
the wall time of each stage, and the mean and standard deviation over seeds. It is printed
and, with --out, written as `results.md` and `results.json`.

`--data-dir` accepts the `cifar10-jpg.tar.gz` archive itself (unpacked once into the cache),
an unpacked ImageFolder root (train/ and test/), or a folder holding torchvision's
`cifar-10-batches-py` (the original pixels; preferred when present).

Modules: `source` (where the data is), `seed` (one seed's run), `table` (rows, summary,
Markdown and JSON), `compare` (the defences side by side); the command (its arguments and
the run over seeds) is commands/reproduce.py.
"""

from .seed import MONITOR_OVERRIDES, run_seed
from .source import DataSource, resolve_data_dir, unpack_archive
from .table import GOAL, PAPER, ROWS, render_markdown

__all__ = [
    "GOAL",
    "MONITOR_OVERRIDES",
    "PAPER",
    "ROWS",
    "DataSource",
    "render_markdown",
    "resolve_data_dir",
    "run_seed",
    "unpack_archive",
]
