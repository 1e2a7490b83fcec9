"""Model weights as safetensors (never pickles), with a JSON sidecar, cached by key.

A trained backdoored model is stored as `<cache>/<key>.safetensors` + `<key>.json`, where
the key hashes everything that determines it (data content, model, attack, training, seed),
so a second run with the same attack starts unlearning at once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file
from torch import nn


def config_key(parts: dict[str, Any]) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes (hex), read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_model(model: nn.Module, path: Path, meta: dict[str, Any] | None = None) -> None:
    """Write `path` (.safetensors) and, with meta, `path.with_suffix('.json')`, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # The tmp name is per process: two workers caching the same model must not share it.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path)
    if meta is not None:
        side = path.with_suffix(".json")
        tmp_side = side.with_name(f"{side.name}.{os.getpid()}.tmp")
        tmp_side.write_text(json.dumps(meta, indent=2, default=str))
        os.replace(tmp_side, side)


def load_weights(model: nn.Module, path: Path) -> nn.Module:
    device = next(model.parameters()).device
    model.load_state_dict(load_file(str(path), device=str(device)))
    return model


def read_meta(path: Path) -> dict[str, Any]:
    side = path.with_suffix(".json")
    return json.loads(side.read_text()) if side.exists() else {}


class FileModelStore:
    """Trained models cached by key under one folder (`<key>.safetensors` + `<key>.json`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.safetensors"

    def load(self, key: str, model: nn.Module) -> dict[str, Any] | None:
        """Load the cached weights for `key` into `model`; None on a miss or a bad file."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            load_weights(model, path)
        except Exception:  # a truncated or foreign file is a miss, and gets rebuilt
            return None
        return read_meta(path)

    def save(self, key: str, model: nn.Module, meta: dict[str, Any]) -> None:
        save_model(model, self.path(key), meta)
