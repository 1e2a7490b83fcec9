"""Round trips: a model trained here, exported as a user would export it, comes back
through every model source with identical logits; a timm CNN and a timm ViT run a
defence end to end on tiny data with finite TAR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from backdoorbench_file import write_backdoorbench
from safetensors.torch import save_file

from unlearnscope.events import Evaluation, EventBase, RunStarted
from unlearnscope.ml.attacks.poisoning import triggered_non_target
from unlearnscope.ml.checkpoints import FileModelStore
from unlearnscope.ml.engine import Engine
from unlearnscope.ml.foreign.prepare import load_user_model, prepare_imported
from unlearnscope.ml.foreign.triggers import PairedTrigger
from unlearnscope.ml.models.classifier import Classifier, build_model
from unlearnscope.ml.preparation import prepare
from unlearnscope.presets import preset_config
from unlearnscope.states import RunStatus

TINY = {"name": "small_cnn", "width": 8}


def _no_progress(*_: Any) -> None:
    pass


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    """The tiny preset's backdoored model, trained here."""
    cache = tmp_path_factory.mktemp("roundtrip-cache")
    p = prepare(preset_config("tiny"), torch.device("cpu"), store=FileModelStore(cache))
    return p.model


def _exports(net: torch.nn.Module, folder: Path) -> dict[str, Path]:
    """The net's weights the ways people save them."""
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    paths = {
        "safetensors": folder / "m.safetensors",
        "pt": folder / "m.pt",
        "wrapped": folder / "m-wrapped.pth",
        "dataparallel": folder / "m-dp.pt",
    }
    save_file(state, str(paths["safetensors"]))
    torch.save(state, paths["pt"])
    torch.save({"model": state, "epoch": 10, "optimizer_lr": 0.1}, paths["wrapped"])
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, paths["dataparallel"])
    return paths


@pytest.mark.parametrize("layout", ["safetensors", "pt", "wrapped", "dataparallel"])
def test_a_model_exported_and_reimported_gives_identical_logits(
    trained: Classifier, tmp_path: Path, layout: str
) -> None:
    path = _exports(trained.get_submodule("net"), tmp_path)[layout]
    cfg = preset_config("tiny", {"model": {**TINY, "source": "file", "file": str(path)},
                                 "attack": {"known": False},
                                 "schedule": [{"kind": "nc", "steps": 1100, "lr": 0.01}]})
    loaded = load_user_model(cfg, 10, None).model.eval()
    x = torch.rand(8, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), trained.eval()(x))
    assert load_user_model(cfg, 10, None).key == f"file-{_sha(path)[:20]}"


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_backdoorbench_file_brings_model_triggered_set_and_forget_set(tmp_path: Path) -> None:
    """Our PreAct-ResNet-18 written in BackdoorBench's layout (its key names), with bd_test
    made from the run's own clean test images: the same logits, the triggered set paired
    with its clean images, the poisoned training samples as the forget set."""
    cfg_data = {"train_size": 600, "test_size": None}
    base = preset_config("tiny", {"data": cfg_data})
    from unlearnscope.ml.datasets import load_splits

    train, test = load_splits(base.data, None, seed=base.seed)
    torch.manual_seed(5)
    source = build_model("preact_resnet18", 10, base.data.mean, base.data.std).eval()
    state = {
        k.replace("shortcut.weight", "shortcut.0.weight"): v
        for k, v in source.get_submodule("net").state_dict().items()
    }
    target = 0
    non_target = torch.nonzero(test.labels != target).flatten()[:40].tolist()
    stamp = torch.zeros(3, 32, 32, dtype=torch.uint8)
    stamp[:, -4:-1, -4:-1] = 255

    def triggered(img: torch.Tensor) -> Any:
        out = img.clone()
        out[:, -4:-1, -4:-1] = stamp[:, -4:-1, -4:-1]
        return out.permute(1, 2, 0).numpy()

    test_poisoned = {
        i: (triggered(test.images[i]), target, int(test.labels[i])) for i in non_target
    }
    train_idx = torch.nonzero(train.labels != target).flatten()[:25].tolist()
    train_poisoned = {
        i: (triggered(train.images[i]), target, int(train.labels[i])) for i in train_idx
    }
    path = tmp_path / "record" / "attack_result.pt"
    path.parent.mkdir()
    write_backdoorbench(path, state, len(test), test_poisoned, len(train), train_poisoned,
                        on_disk=True)
    cfg = preset_config("tiny", {
        "data": {"train_size": 600, "test_size": 200},
        "model": {"name": "preact_resnet18", "source": "backdoorbench", "file": str(path)},
        "defense": {"forget_size": 500, "oracle": "on"},
        "schedule": [{"kind": "recovery", "steps": 2, "lr": 0.01, "batch_size": 8}],
    })
    p = prepare_imported(cfg, torch.device("cpu"), None, None, _no_progress)
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(p.model(x), source(x))
    assert p.target == target and p.trigger_source == "file"
    assert len(p.phase_data.forget) == 25 and p.forget_source == "oracle"
    assert torch.equal(p.phase_data.forget.labels, torch.zeros(25, dtype=torch.long))
    # the training set a detection searches: the clean one with bd_train in its places,
    # and so the truth (the clean set is drawn from the clean training set)
    pool, truth = p.phase_data.pool, p.truth
    assert pool is not None and truth is not None and len(pool) == len(train) == 600
    assert torch.equal(torch.nonzero(truth).flatten(), torch.tensor(sorted(train_idx)))
    assert torch.equal(pool.labels[truth], torch.zeros(25, dtype=torch.long))
    assert torch.equal(pool.images[~truth], train.images[~truth])
    # the default for a model from a file: no oracle, the truth is hidden from the phases
    blind = prepare_imported(
        cfg.model_copy(update={"defense": cfg.defense.model_copy(update={"oracle": "auto"})}),
        torch.device("cpu"), None, None, _no_progress,
    )
    assert len(blind.phase_data.forget) == 0 and blind.forget_source == "none"
    assert blind.truth is not None and int(blind.truth.sum()) == 25
    # the triggered version of a covered test image is the one in the file
    assert isinstance(p.trigger, PairedTrigger)
    covered = [i for i in range(len(p.test)) if bool(p.trigger.covers(p.test.images[i : i + 1]))]
    assert covered, "the sub-sampled test set holds images bd_test covers"
    # ASR is measured on the covered images alone (bd_test holds 40 of the test set)
    asr_set = triggered_non_target(p.test, p.trigger, target)
    assert len(asr_set) == len(covered) < int((p.test.labels != target).sum())
    i = covered[0]
    stamped = p.trigger.apply(p.test.images[i : i + 1])[0]
    assert torch.equal(stamped[:, -4:-1, -4:-1], stamp[:, -4:-1, -4:-1])
    assert torch.equal(stamped[:, :20, :20], p.test.images[i][:, :20, :20])


@pytest.mark.parametrize(
    "name", ["timm:resnet18", "timm:vit_tiny_patch16_224"], ids=["timm-cnn", "timm-vit"]
)
def test_a_timm_model_runs_a_defence_end_to_end_with_finite_tar(
    tmp_path: Path, name: str
) -> None:
    from unlearnscope.ml.models.classifier import build_named_classifier

    size = 64  # a ViT-Tiny/16 sees a 4x4 grid of tokens; a ResNet's last stage 2x2
    torch.manual_seed(0)
    model = build_named_classifier(name, 10, (0.5,) * 3, (0.25,) * 3, size)
    path = tmp_path / "timm.safetensors"
    save_file({k: v.contiguous() for k, v in model.get_submodule("net").state_dict().items()},
              str(path))
    cfg = preset_config("tiny", {
        "data": {"image_size": size, "train_size": 200, "test_size": 100},
        "model": {"name": name, "source": "file", "file": str(path)},
        "attack": {"kind": "badnets", "settings": {"trigger_size": 8}},
        "monitor": {"probe_count": 2, "tar_set_size": 8, "eval_size": 16, "budget": 0},
        "defense": {"fisher_samples": 8},
        "schedule": [{"kind": "recovery", "steps": 2, "lr": 0.001, "batch_size": 8,
                      "forget_weight": 0}],
    })
    events: list[EventBase] = []
    engine = Engine(cfg, events.append, device="cpu")
    assert engine.run() is RunStatus.COMPLETED, [getattr(e, "message", "") for e in events]
    started = next(e for e in events if isinstance(e, RunStarted))
    assert started.model == name and started.model_key.startswith("file-")
    final = [e for e in events if isinstance(e, Evaluation)][-1]
    assert final.tar_median is not None and torch.isfinite(torch.tensor(final.tar_median))
    assert final.asr is not None


def _write_folder(images: torch.Tensor, labels: torch.Tensor, classes: list[str],
                  folder: Path, names: list[str] | None = None) -> list[str]:
    """PNG files folder/<class>/<name>.png (lossless: the pixels come back as they were)."""
    from PIL import Image

    names = names or [f"{i:04d}" for i in range(len(images))]
    for img, label, name in zip(images, labels.tolist(), names, strict=True):
        out = folder / classes[label]
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(out / f"{name}.png")
    return names


def test_triggered_images_and_a_forget_set_from_folders(
    trained: Classifier, tmp_path: Path
) -> None:
    """A user's test set stamped by themselves (paired by file name with the clean one) and
    their identified poisoned samples as a flat folder: ASR as the model's own, the
    forget set labelled with the target class."""
    from unlearnscope.ml.attacks.poisoning import poison
    from unlearnscope.ml.attacks.triggers import make_trigger
    from unlearnscope.ml.datasets import load_splits
    from unlearnscope.ml.metrics import asr_and_ra, predict

    tiny = preset_config("tiny")
    train, test = load_splits(tiny.data, None, seed=tiny.seed)
    trigger = make_trigger(tiny.attack, 32, tiny.seed)
    data = tmp_path / "data"
    _write_folder(train.images, train.labels, train.classes, data / "train")
    names = _write_folder(test.images, test.labels, test.classes, data / "test")
    _write_folder(trigger.apply(test.images), test.labels, test.classes,
                  tmp_path / "stamped" / "test", names)
    poisoned = poison(train, trigger, 0, 0.1, 0)
    flat = tmp_path / "identified"
    flat.mkdir()
    from PIL import Image

    for i in poisoned.poisoned[:30].tolist():
        Image.fromarray(poisoned.data.images[i].permute(1, 2, 0).numpy()).save(flat / f"{i}.png")
    path = _exports(trained.get_submodule("net"), tmp_path)["safetensors"]
    cfg = preset_config("tiny", {
        "data": {"name": "imagefolder", "root": str(data), "train_size": None,
                 "test_size": None},
        "model": {**TINY, "source": "file", "file": str(path)},
        "attack": {"triggered_root": str(tmp_path / "stamped")},
        "defense": {"forget_root": str(flat), "forget_size": 500},
    })
    p = prepare_imported(cfg, torch.device("cpu"), None, None, _no_progress)
    assert isinstance(p.trigger, PairedTrigger) and p.trigger_source == "folder"
    assert len(p.trigger) == len(test)
    assert len(p.phase_data.forget) == 30
    assert set(p.phase_data.forget.labels.tolist()) == {0}
    own = triggered_non_target(test, trigger, 0)
    expected, _ = asr_and_ra(predict(trained, own.images), 0, own.labels)
    paired = triggered_non_target(p.test, p.trigger, 0)
    measured, _ = asr_and_ra(predict(p.model, paired.images), 0, paired.labels)
    assert measured == pytest.approx(expected)
    assert expected > 50  # the backdoor fires: the pairing found the stamped images
