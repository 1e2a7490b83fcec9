"""Reading BackdoorBench's attack_result.pt: `unlearnscope.ml.foreign.backdoorbench`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from backdoorbench_file import Poisoned, as_numpy1, write_backdoorbench
from PIL import Image

from unlearnscope.ml.foreign.backdoorbench import read_backdoorbench, to_ours
from unlearnscope.ml.foreign.state import ImportRefused, load_into
from unlearnscope.ml.models.preact_resnet18.net import PreActResNet18

TARGET = 0


def to_backdoorbench(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our PreActResNet18's keys as BackdoorBench's models/preact_resnet.py names them."""
    return {k.replace(".shortcut.", ".shortcut.0."): v for k, v in state.items()}


def poisoned(rng: np.random.Generator, indices: list[int]) -> Poisoned:
    return {
        i: (rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), TARGET, int(rng.integers(1, 10)))
        for i in indices
    }


def chw(images: Poisoned) -> torch.Tensor:
    return torch.stack([torch.from_numpy(images[i][0]).permute(2, 0, 1) for i in sorted(images)])


@dataclass
class Other:
    value: int


class RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > marker",))


@pytest.mark.parametrize("layout", ["in_file", "in_file_numpy1", "on_disk"])
def test_read_what_was_written(tmp_path: Path, layout: str) -> None:
    torch.manual_seed(0)
    source = PreActResNet18(10).train()
    with torch.no_grad():
        source(torch.rand(8, 3, 32, 32))  # BatchNorm statistics away from their initial values
    source.eval()
    state = to_backdoorbench(source.state_dict())
    assert "layer2.0.shortcut.0.weight" in state and "linear.weight" in state
    rng = np.random.default_rng(0)
    train = poisoned(rng, sorted(rng.choice(100, 20, replace=False).tolist()))
    test = poisoned(rng, sorted(rng.choice(50, 30, replace=False).tolist()))
    file = tmp_path / "attack_result.pt"
    write_backdoorbench(file, state, 50, test, 100, train, on_disk=layout == "on_disk")
    if layout == "in_file_numpy1":
        as_numpy1(file)

    result = read_backdoorbench(file)

    assert (result.model_name, result.our_model_name) == ("preactresnet18", "preact_resnet18")
    assert (result.num_classes, result.image_size, result.clean_data) == (10, (32, 32), "cifar10")
    assert torch.equal(result.bd_test_images, chw(test))
    assert result.bd_test_images.dtype == torch.uint8
    assert result.bd_test_labels.tolist() == [TARGET] * 30
    assert result.bd_test_original_labels is not None
    assert result.bd_test_original_labels.tolist() == [test[i][2] for i in sorted(test)]
    assert result.bd_test_original_index.tolist() == sorted(test)
    assert result.bd_train_images is not None and result.bd_train_labels is not None
    assert result.bd_train_original_index is not None
    assert torch.equal(result.bd_train_images, chw(train))
    assert result.bd_train_labels.tolist() == [TARGET] * 20
    assert result.bd_train_original_index.tolist() == sorted(train)
    assert result.bd_train_original_index.dtype == torch.int64

    ours = PreActResNet18(10)
    load_into(ours, result.state, "preact_resnet18")
    x = result.bd_test_images[:8].float() / 255
    with torch.no_grad():
        assert torch.equal(ours.eval()(x), source(x))


def small(tmp_path: Path, test: Poisoned | None = None, **kwargs: Any) -> Path:
    file = tmp_path / "attack_result.pt"
    rng = np.random.default_rng(1)
    state = {"linear.weight": torch.zeros(10, 4)}
    write_backdoorbench(file, state, 5, poisoned(rng, [1, 3]) if test is None else test, **kwargs)
    return file


def test_no_train_set_and_an_unmapped_model(tmp_path: Path) -> None:
    result = read_backdoorbench(small(tmp_path, model_name="vgg19_bn"))
    assert result.bd_train_images is None and result.bd_train_original_index is None
    assert (result.model_name, result.our_model_name) == ("vgg19_bn", None)
    assert list(result.state) == ["linear.weight"]
    with pytest.raises(ImportRefused, match=r"'vgg19_bn' has no .*supported: preactresnet18"):
        to_ours("vgg19_bn", result.state)


def test_a_pil_image_is_refused(tmp_path: Path) -> None:
    test: Poisoned = {2: (Image.new("RGB", (32, 32)), TARGET, 3)}  # type: ignore[dict-item]
    with pytest.raises(ImportRefused, match=r"PIL\.Image\.Image.*convert them to numpy"):
        read_backdoorbench(small(tmp_path, test))


def test_another_class_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match=r"holds .*Other; .*tensors, dicts, lists and numpy"):
        read_backdoorbench(small(tmp_path, extra_info=Other(3)))


def test_code_is_refused_and_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ImportRefused, match="system"):
        read_backdoorbench(small(tmp_path, extra_info=RunsCode()))
    assert not (tmp_path / "marker").exists()


def test_a_missing_key_is_refused_with_the_keys_found(tmp_path: Path) -> None:
    file = tmp_path / "attack_result.pt"
    torch.save({"model_name": "preactresnet18", "model": {}}, file)
    with pytest.raises(ImportRefused, match=r"lacks num_classes.*keys found: model, model_name"):
        read_backdoorbench(file)


def test_missing_or_escaping_pngs_are_refused(tmp_path: Path) -> None:
    file = small(tmp_path, on_disk=True)
    for png in (tmp_path / "bd_test_dataset").rglob("*.png"):
        png.unlink()
    with pytest.raises(ImportRefused, match=r"is missing.*keep the whole record folder"):
        read_backdoorbench(file)

    state = torch.load(file, weights_only=False)  # our own test file
    entry = next(iter(state["bd_test"]["bd_data_container"]["data_dict"].values()))
    entry["path"] = "../record/badnet_demo/bd_test_dataset/../../../../etc/passwd"
    torch.save(state, file)
    with pytest.raises(ImportRefused, match="leaves the record folder"):
        read_backdoorbench(file)
