"""Reading users' checkpoints: `unlearnscope.ml.foreign.state`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from unlearnscope.ml.foreign.state import ImportRefused, load_into, read_state_dict, unwrap
from unlearnscope.ml.models.classifier import Classifier, build_model

MEAN, STD = (0.5,) * 3, (0.25,) * 3


class RunsCode:
    """A pickle that runs a shell command when unpickled without restrictions."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned > marker",))


def trained_looking(name: str, num_classes: int = 10) -> Classifier:
    """A model whose BatchNorm statistics are not their initial values."""
    torch.manual_seed(0)
    model = build_model(name, num_classes, MEAN, STD)
    model.train()
    with torch.no_grad():
        model(torch.rand(8, 3, 32, 32))
    return model.eval()


def save(state: dict[str, torch.Tensor], path: Path, form: str) -> Path:
    if form == "safetensors":
        file = path / "weights.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, file)
    elif form == "pt":
        file = path / "weights.pt"
        torch.save(state, file)
    elif form == "wrapped":
        file = path / "weights.ckpt"
        torch.save({"epoch": 3, "state_dict": state, "optimizer": {"lr": 0.1}}, file)
    else:  # DataParallel
        file = path / "weights.pth"
        torch.save({f"module.{k}": v for k, v in state.items()}, file)
    return file


@pytest.mark.parametrize("name", ["small_cnn", "preact_resnet18"])
@pytest.mark.parametrize("form", ["safetensors", "pt", "wrapped", "module"])
def test_round_trip_gives_identical_logits(tmp_path: Path, name: str, form: str) -> None:
    source = trained_looking(name)
    file = save(source.get_submodule("net").state_dict(), tmp_path, form)
    torch.manual_seed(1)
    fresh = build_model(name, 10, MEAN, STD).eval()
    load_into(fresh.get_submodule("net"), read_state_dict(file), name)
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(fresh(x), source(x))


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".bin", ".ckpt"])
def test_a_pickle_with_code_is_refused_and_not_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    monkeypatch.chdir(tmp_path)
    file = tmp_path / f"evil{suffix}"
    torch.save({"conv.weight": torch.zeros(1), "payload": RunsCode()}, file)
    with pytest.raises(ImportRefused, match="Python objects other than tensors") as err:
        read_state_dict(file)
    assert "state_dict()" in str(err.value) and "safetensors" in str(err.value)
    assert "system" in str(err.value)  # names what it asked for
    assert not (tmp_path / "marker").exists()


def test_a_state_dict_of_another_architecture_is_refused(tmp_path: Path) -> None:
    file = save(trained_looking("small_cnn").get_submodule("net").state_dict(), tmp_path, "pt")
    net = build_model("preact_resnet18", 10, MEAN, STD).get_submodule("net")
    with pytest.raises(ImportRefused) as err:
        load_into(net, read_state_dict(file), "preact_resnet18")
    message = str(err.value)
    assert message.startswith("the checkpoint does not fit preact_resnet18: missing keys (")
    assert "unexpected keys (" in message and "layer1.0.conv1.weight" in message
    assert " more" in message  # more than 8 names: the rest are counted


def test_a_wrong_class_count_says_the_counts(tmp_path: Path) -> None:
    file = save(
        trained_looking("preact_resnet18", 10).get_submodule("net").state_dict(), tmp_path, "pt"
    )
    net = build_model("preact_resnet18", 5, MEAN, STD).get_submodule("net")
    with pytest.raises(ImportRefused) as err:
        load_into(net, read_state_dict(file), "preact_resnet18")
    message = str(err.value)
    assert "shape mismatches: linear.weight ckpt (10, 512) vs model (5, 512)" in message
    assert "the checkpoint has 10 classes, the data has 5" in message
    assert "missing keys" not in message


def test_a_truncated_safetensors_file_is_refused(tmp_path: Path) -> None:
    file = save(
        trained_looking("small_cnn").get_submodule("net").state_dict(), tmp_path, "safetensors"
    )
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])
    with pytest.raises(ImportRefused, match=r"weights\.safetensors is not a valid safetensors"):
        read_state_dict(file)


def test_junk_and_truncated_torch_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ImportRefused, match=r"junk\.pt is not a valid PyTorch checkpoint"):
        read_state_dict(junk)
    file = save(trained_looking("small_cnn").get_submodule("net").state_dict(), tmp_path, "pt")
    file.write_bytes(file.read_bytes()[:1000])
    with pytest.raises(ImportRefused, match="not a valid PyTorch checkpoint"):
        read_state_dict(file)


def test_other_suffixes_are_refused_with_the_accepted_ones(tmp_path: Path) -> None:
    file = tmp_path / "weights.h5"
    file.write_bytes(b"\x89HDF")
    with pytest.raises(ImportRefused, match=r"\.safetensors, \.pt, \.pth, \.bin, \.ckpt"):
        read_state_dict(file)


def test_unwrap() -> None:
    w = torch.ones(2)
    assert unwrap({"a.weight": w}) == {"a.weight": w}
    assert unwrap({"_orig_mod.a.weight": w, "_orig_mod.b": w}) == {"a.weight": w, "b": w}
    assert unwrap({"module._orig_mod.a": w}) == {"a": w}
    assert unwrap({"module.a": w, "b": w}) == {"module.a": w, "b": w}  # not common: kept
    assert unwrap({"a.weight": w, "epoch": 3}) == {"a.weight": w}
    assert unwrap({"model": {"module.a": w}, "state_dict_ema": {"b": w}}) == {"a": w}
    assert unwrap({"net": "text", "state_dict_ema": {"b": w}}) == {"b": w}
    with pytest.raises(ImportRefused, match=r"top-level keys are k0, k1, .*k9 and 2 more"):
        unwrap({f"k{i}": i for i in range(12)})
    with pytest.raises(ImportRefused, match="holds a list"):
        unwrap([w])
