"""Sample inspection of a finished run, from its saved model (no worker needed).

Rebuilds what the engine had: the test split (same config and seed), the trigger and the
model with the run's final weights (safetensors), then asks `ml.monitor.inspect_sample`.
Loading takes a moment, so the last few runs stay loaded. It runs in the server process
(on request threads), so it lives here, beside the service, not in worker/.

Threads: request threads, any number at once. `SavedRunCache._lock` guards the cache's
table (a load happens outside it: two threads may load one run, the second result wins);
each `SavedRun.lock` lets one CAM pass at a time use its model (hooks live on the model).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...events import TriggerFound


@dataclass
class SavedRun:
    config: RunConfig
    model: Any  # ml.models.Classifier, on the CPU, eval mode
    test: Any  # ml.imageset.ImageSet
    trigger: Any  # ml.attacks.Trigger
    lock: threading.Lock  # one CAM pass at a time: hooks live on the shared model
    target: int | None = None  # the trigger's class; None: unknown (never recovered)

    def inspect(self, index: int) -> dict[str, Any]:
        from ...ml.monitor import inspect_sample
        from ...ml.region import region_rule

        with self.lock:
            return inspect_sample(
                self.model,
                self.config.monitor.cam_method,
                self.model.cam_layer_name,
                self.test,
                self.trigger,
                self.target,
                index,
                region_rule(self.config.monitor, self.test.image_size, self.trigger),
            )


def load_saved_imported(
    config: RunConfig,
    model_path: Path,
    data_dir: Path | None,
    cache_dir: Path | None,
    found: TriggerFound | None,
) -> SavedRun:
    """A run on the user's model: prepared as the run was (its data, architecture and
    trigger), with the final weights; with the trigger a phase recovered, if one did."""
    import torch

    from ...ml.checkpoints import load_weights
    from ...ml.foreign.prepare import prepare_imported
    from ...ml.foreign.triggers import recovered_from_bytes

    def quiet(*_: Any) -> None:
        pass

    p = prepare_imported(config, torch.device("cpu"), data_dir, cache_dir, quiet)
    load_weights(p.model, model_path)
    p.model.eval()
    trigger, target = p.trigger, p.target
    if found is not None and found.mask is not None and found.pattern is not None:
        trigger = recovered_from_bytes(
            found.size, found.mask, found.pattern, found.target_class, found.source
        )
        target = found.target_class
    return SavedRun(config, p.model, p.test, trigger, threading.Lock(), target)


def load_saved_run(
    config: RunConfig,
    model_path: Path,
    data_dir: Path | None,
    cache_dir: Path | None,
    found: TriggerFound | None = None,
) -> SavedRun:
    if config.model.imported:
        return load_saved_imported(config, model_path, data_dir, cache_dir, found)
    from ...ml.checkpoints import FileModelStore, load_weights
    from ...ml.datasets import load_splits
    from ...ml.models.classifier import build_model
    from ...ml.preparation import trained_trigger

    train, test = load_splits(config.data, data_dir, seed=config.seed, cache_dir=cache_dir)
    # cache_dir is the server's <cache>/data; trained models (and an input-aware attack's
    # trigger generator) live in <cache>/models
    store = FileModelStore(cache_dir.parent / "models") if cache_dir is not None else None
    trigger = trained_trigger(config, train, store)
    model = build_model(
        config.model.name,
        len(test.classes),
        config.data.mean,
        config.data.std,
        config.model.width,
        config.model.cam_layer,
    )
    load_weights(model, model_path)
    model.eval()
    return SavedRun(config, model, test, trigger, threading.Lock(), config.attack.target_class)


class SavedRunCache:
    """The last `size` loaded runs, keyed by run id and model file (a new file reloads)."""

    def __init__(self, data_dir: Path | None, cache_dir: Path | None, size: int = 2) -> None:
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.size = size
        self._items: OrderedDict[tuple[str, str, float], SavedRun] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self,
        run_id: str,
        config: RunConfig,
        model_path: Path,
        found: TriggerFound | None = None,
    ) -> SavedRun:
        key = (run_id, str(model_path), model_path.stat().st_mtime)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        saved = load_saved_run(config, model_path, self.data_dir, self.cache_dir, found)
        with self._lock:
            self._items[key] = saved
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return saved

    def forget(self, run_id: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == run_id]:
                del self._items[key]
