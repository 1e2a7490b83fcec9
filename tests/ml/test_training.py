"""Attack-stage training: bf16 autocast, cache keys by precision, the clean reference model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from unlearnscope.config import TrainConfig
from unlearnscope.ml.attacks.triggers import make_trigger
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.models.classifier import build_model
from unlearnscope.ml.preparation import training_key_parts
from unlearnscope.ml.reference import clean_reference
from unlearnscope.ml.shapes import make_splits
from unlearnscope.ml.training import resolve_precision, train_classifier
from unlearnscope.presets import preset_config

CPU = torch.device("cpu")


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_training_updates_the_weights_and_keeps_them_fp32(precision: str) -> None:
    train, _ = make_splits(128, 10, seed=0)
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig.model_validate(
        {"epochs": 1, "batch_size": 32, "lr": 0.05, "precision": precision}
    )
    stats = train_classifier(model, train, cfg, "flip_crop", seed=0)
    assert math.isfinite(stats["train_loss"]) and 0 <= stats["train_acc"] <= 100
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert not model.training  # handed back in eval mode


def test_a_run_shorter_than_the_one_cycle_warm_up_still_trains() -> None:
    train, _ = make_splits(64, 10, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=32, lr=0.05)  # 2 steps in all
    stats = train_classifier(tiny_model(), train, cfg, "none", seed=0)
    assert math.isfinite(stats["train_loss"])


def test_precision_auto_resolves_per_device_and_fp32_keys_are_unchanged() -> None:
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"
    assert resolve_precision("auto", CPU) in ("fp32", "bf16")
    with pytest.raises(ValueError, match="fp32, bf16 or auto"):
        resolve_precision("fp8", CPU)
    fp32 = preset_config("tiny")
    # An fp32 recipe hashes as it did before `precision` existed (cached models stay valid)...
    assert training_key_parts(fp32, CPU) == {
        "training": fp32.training.model_dump(exclude={"precision"})
    }
    # ...and a bf16 one gets its own key.
    bf16 = preset_config("tiny", {"training": {"precision": "bf16"}})
    assert training_key_parts(bf16, CPU)["precision"] == "bf16"


def test_clean_reference_is_trained_once_then_loaded(tmp_path: Path) -> None:
    cfg = preset_config("tiny", {"training": {"epochs": 1}})
    train, test = make_splits(200, 100, seed=0)
    trigger = make_trigger(cfg.attack, cfg.data.image_size)
    store = FileModelStore(tmp_path)
    first = clean_reference(cfg, train, test, trigger, CPU, store)
    assert not first.cached and 0 <= first.ca <= 100 and 0 <= first.asr <= 100
    second = clean_reference(cfg, train, test, trigger, CPU, store)
    assert second.cached and second.key == first.key
    assert (second.ca, second.asr) == (first.ca, first.asr)
    other_seed = cfg.model_copy(update={"seed": 1})
    assert not clean_reference(other_seed, train, test, trigger, CPU, store).cached
