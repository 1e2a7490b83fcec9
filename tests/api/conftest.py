"""Fixtures for the API tests: a shared model cache, isolated apps on tmp directories."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with the tiny preset's backdoored model (seed 0), trained once per session,
    so that runs start unlearning within seconds."""
    import torch

    from unlearnscope.ml.checkpoints import FileModelStore
    from unlearnscope.ml.preparation import prepare
    from unlearnscope.presets import preset_config

    cache = tmp_path_factory.getbasetemp() / "tiny_model_cache"  # shared with tests/worker
    prepare(preset_config("tiny"), torch.device("cpu"), store=FileModelStore(cache / "models"))
    return cache
