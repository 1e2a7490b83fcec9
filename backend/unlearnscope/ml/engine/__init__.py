"""The unlearning engine: a step machine over a phase schedule, reporting through `emit`.

    engine = Engine(config, emit)
    engine.run(poll)          # or: engine.prepare(); while engine.step(): ...

- `machine.py`    the step machine (`Engine`): phases, control between steps, evaluations
- `live.py`       the live monitor: measurements beside training on weight snapshots
- `paths.py`      the backdoor-connected path at phase ends and on request
- `reactivation.py` what a reactivation attack (qra) did, once it ended
- `snapshots.py`  the weight-snapshot buffer the live monitor reads
- `cadence.py`    when to measure what (fixed intervals or a share of the time)
- `encode.py`     tensors to events (heatmaps, probes, a kind's pictures as bytes)
- `summary.py`    the closing numbers (before, after, after re-tuning)
- `threads.py`    CPU threads for training beside the monitor
"""

from .machine import Emit, Engine, Poll, StopRequested

__all__ = ["Emit", "Engine", "Poll", "StopRequested"]
