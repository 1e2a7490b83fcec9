"""The check before a run on the user's model (ml/foreign/check.py), in its own process.

Loading a foreign model and its data imports torch and may take a few seconds and some
hundred MB, so it runs in a spawned process (one at a time, kept between checks), never in
the server's: a file that crashes a loader cannot take the server down. A refusal
(ImportRefused, a data set that cannot be loaded) comes back as its message.

Threads: the event loop awaits it; the process pool is created on first use.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ...config import CheckConfig
from ...settings import Settings

CHECK_TIMEOUT_S = 300.0


def check_job(config: dict[str, Any], data_dir: str | None, cache_dir: str) -> dict[str, Any]:
    """In the check process: {"report": ...} or {"refused": message}."""
    import torch

    from ...ml.datasets import DataUnavailable
    from ...ml.foreign.check import check_model
    from ...ml.foreign.state import ImportRefused

    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    cfg = CheckConfig.model_validate(config)
    try:
        report = check_model(cfg, data_dir, Path(cache_dir) / "data")
    except (ImportRefused, DataUnavailable, ValueError) as err:
        return {"refused": str(err)}
    return {"report": report.as_dict()}


class CheckFailed(Exception):
    """The check could not say: the message says why (refused, crashed, timed out)."""


class ModelChecks:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
        return self._pool

    async def check(self, config: CheckConfig) -> dict[str, Any]:
        s = self.settings
        data_dir = str(s.data_dir) if s.data_dir is not None else None
        async with self._lock:  # one check at a time
            loop = asyncio.get_running_loop()
            try:
                future = loop.run_in_executor(
                    self._executor(),
                    check_job,
                    config.model_dump(mode="json"),
                    data_dir,
                    str(s.cache_dir),
                )
                answer = await asyncio.wait_for(future, CHECK_TIMEOUT_S)
            except BrokenProcessPool:
                self.close()
                raise CheckFailed(
                    "the check process crashed while loading the model (out of memory, or a "
                    "file a loader could not handle); the server is fine"
                ) from None
            except TimeoutError:
                self.close()
                raise CheckFailed(
                    f"the check took longer than {CHECK_TIMEOUT_S:.0f} s and was stopped"
                ) from None
        if "refused" in answer:
            raise CheckFailed(str(answer["refused"]))
        report: dict[str, Any] = answer["report"]
        return report

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
