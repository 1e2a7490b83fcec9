"""A model cache shared by the worker tests: the tiny backdoored model is trained once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from unlearnscope.ml.checkpoints import FileModelStore
    from unlearnscope.ml.preparation import prepare
    from unlearnscope.presets import preset_config

    cache = tmp_path_factory.getbasetemp() / "tiny_model_cache"  # shared with tests/api
    prepare(preset_config("tiny"), torch.device("cpu"), store=FileModelStore(cache / "models"))
    return cache
