"""BackdoorBench attack results (github.com/SCLBD/BackdoorBench), read without running code.

`attack_result.pt` is the dict written by `save_attack_result` in BackdoorBench's
`utils/save_load_attack.py`:

    model_name   str, e.g. "preactresnet18" (see utils/aggregate_block/model_trainer_generate.py)
    num_classes  int
    model        the model's state dict (`model.cpu().state_dict()`)
    data_path    str, the clean dataset's folder on the attacker's machine
    img_size     [H, W, C], e.g. [32, 32, 3]
    clean_data   str, the dataset name ("cifar10", ...)
    bd_train     `retrieve_state()` of a `prepro_cls_DatasetBD_v2` (utils/bd_dataset_v2.py;
                 saved through `dataset_wrapper_with_transform`, which forwards the call),
                 or None
    bd_test      the same for the triggered test set

`retrieve_state()` is a dict of `bd_data_container` (`poisonedCLSDataContainer.
retrieve_state()`: `save_folder_path`, `data_dict`, `save_file_format`), `getitem_all`,
`getitem_all_switch`, `original_index_array` (numpy int64: the indices into the clean set
the dataset covers; `bd_test` is subset to its poisoned samples), `poison_indicator`
(numpy, 1 at each poisoned index of the clean set) and `save_folder_path`.
`data_dict` maps a poisoned sample's clean-set index (a numpy int64) to
- on disk (`save_folder_path` set, what BackdoorBench's attack scripts do):
  `{"path": "<save_folder_path>/<label>/<index>.png", "other_info": [bd_label, label]}`;
  the images are PNG files in `bd_train_dataset/` and `bd_test_dataset/` next to
  `attack_result.pt`, and are read from there (never from a path outside that folder);
- in memory: a tuple `(image, bd_label, label)`. The image must be a numpy uint8 array
  (H, W, 3) (or (H, W) / (H, W, 1) grey). BackdoorBench itself stores a PIL image here
  (`set_one_bd_sample`); a PIL image, or any other class, is refused, since reading one
  would mean unpickling arbitrary objects: convert such images to numpy arrays first.

The file is read with `torch.load(weights_only=True)` allowing only what numpy arrays need
(`_reconstruct`, `ndarray`, `dtype`, `scalar`, under both numpy 1's `numpy.core` and numpy
2's `numpy._core` names, and the numeric dtype classes, `numpy.dtypes.UInt8DType` ...).
Model keys are mapped to our networks by `to_ours` (BackdoorBench's `models/preact_resnet.py`
wraps each shortcut conv in an `nn.Sequential`).
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from PIL import Image

from .state import ImportRefused, refused_object, unwrap

REQUIRED_KEYS = (
    "model_name",
    "num_classes",
    "model",
    "data_path",
    "img_size",
    "clean_data",
    "bd_train",
    "bd_test",
)
NUMERIC_DTYPES = "?bBhHiIlLqQefd"  # bool, (u)int8..64, float16..64
SUPPORTED_MODELS = {"preactresnet18": "preact_resnet18"}  # BackdoorBench name -> ours


def _numpy_globals() -> list[Any]:
    """What `torch.load(weights_only=True)` needs to rebuild numpy arrays and scalars."""
    try:  # numpy 2
        multiarray = importlib.import_module("numpy._core.multiarray")
    except ImportError:  # numpy 1
        multiarray = importlib.import_module("numpy.core.multiarray")
    allowed: list[Any] = [np.ndarray, np.dtype]
    # BUILD sets the state of a dtype instance, so its class must be allowed too: the
    # numeric ones only (an object array could hold anything).
    allowed += sorted({type(np.dtype(code)) for code in NUMERIC_DTYPES}, key=str)
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        allowed += [
            (multiarray._reconstruct, f"{module}._reconstruct"),
            (multiarray.scalar, f"{module}.scalar"),
        ]
    return allowed


def safe_load(path: Path) -> object:
    """`torch.load(weights_only=True)` allowing tensors, containers and numpy arrays only."""
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        name = refused_object(err)
        if name is None:
            raise ImportRefused(
                f"{path.name} is not a readable BackdoorBench attack_result.pt (it is not "
                "a pickle torch.load can read)"
            ) from err
        name = name or "an object that is not a tensor, dict, list or array"
        if name.endswith("ObjectDType"):
            name += " (a numpy array of Python objects)"
        hint = ""
        if name.startswith("PIL."):
            hint = (
                " The poisoned images are PIL images: convert them to numpy uint8 arrays "
                "(H, W, 3) in bd_train/bd_test's bd_data_container data_dict, or keep "
                "BackdoorBench's default of saving them as PNG files next to the file."
            )
        raise ImportRefused(
            f"{path.name} holds {name}; UnlearnScope reads only tensors, dicts, lists and "
            f"numpy arrays from a BackdoorBench file and refuses to run anything else.{hint}"
        ) from err
    except Exception as err:  # torch raises RuntimeError, KeyError, EOFError, ... on junk
        raise ImportRefused(
            f"{path.name} is not a readable BackdoorBench attack_result.pt (it may be "
            f"truncated or damaged: {type(err).__name__}: {err})"
        ) from err


@dataclass
class BackdoorBenchResult:
    """What UnlearnScope takes from a BackdoorBench `attack_result.pt`."""

    model_name: str  # BackdoorBench's name, e.g. "preactresnet18"
    our_model_name: str | None  # our registry's name when `state` is mapped, else None
    num_classes: int
    image_size: tuple[int, int]  # (H, W), from img_size (H, W, C)
    state: dict[str, torch.Tensor]  # keys mapped to our network when one fits
    clean_data: str  # the dataset's name, e.g. "cifar10"
    bd_test_images: torch.Tensor  # (N, 3, H, W) uint8, triggered
    bd_test_labels: torch.Tensor  # (N,) int64: what the poisoned model should predict
    bd_test_original_labels: torch.Tensor | None  # (N,) int64: the true labels
    bd_test_original_index: torch.Tensor  # (N,) int64: indices into the clean test set
    bd_train_images: torch.Tensor | None  # (M, 3, H, W) uint8: the poisoned samples only
    bd_train_labels: torch.Tensor | None  # (M,) int64: their (backdoor) training labels
    bd_train_original_index: torch.Tensor | None  # (M,) int64: indices into the clean set


def to_ours(model_name: str, state: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, Any]]:
    """Our registry's model name and `state` with BackdoorBench's keys renamed to ours.

    preactresnet18 (BackdoorBench's models/preact_resnet.py) -> our PreActResNet18: the
    same names (conv1, layer1..4.{0,1}.bn1/conv1/bn2/conv2, linear) except the shortcut,
    a Conv2d inside an nn.Sequential there (`layer2.0.shortcut.0.weight`) and a bare Conv2d
    here (`layer2.0.shortcut.weight`).
    """
    if model_name not in SUPPORTED_MODELS:
        raise ImportRefused(
            f"BackdoorBench model {model_name!r} has no UnlearnScope network; supported: "
            f"{', '.join(sorted(SUPPORTED_MODELS))}"
        )
    mapped = {key.replace(".shortcut.0.", ".shortcut."): value for key, value in state.items()}
    return SUPPORTED_MODELS[model_name], mapped


def _image(value: object, where: str) -> NDArray[np.uint8]:
    """One (H, W, 3) uint8 array from a container's numpy image."""
    if not isinstance(value, np.ndarray):
        raise ImportRefused(
            f"{where}: the image is a {type(value).__name__}; only numpy uint8 arrays "
            "(H, W, 3) are read: convert the images to numpy arrays"
        )
    if value.dtype != np.uint8:
        raise ImportRefused(f"{where}: the image is {value.dtype}, not uint8 (0..255)")
    if value.ndim == 2:
        value = value[:, :, None]
    if value.ndim != 3 or value.shape[2] not in (1, 3):
        raise ImportRefused(f"{where}: image of shape {value.shape}, not (H, W, 3)")
    if value.shape[2] == 1:
        value = np.repeat(value, 3, axis=2)
    return value


def _png(record: Path, folder: str, stored: str, where: str) -> NDArray[np.uint8]:
    """A PNG that BackdoorBench wrote under `folder`, found in the record folder `record`.

    `stored` was a path on the attacker's machine; only its part below `folder` is used,
    under `record/<folder's name>`, and nothing outside `record` is read."""
    stored_path, base = PurePosixPath(stored), PurePosixPath(folder)
    try:
        relative = stored_path.relative_to(base)
    except ValueError:
        relative = PurePosixPath(*stored_path.parts[-2:])
    if ".." in relative.parts or relative.is_absolute():
        raise ImportRefused(f"{where}: image path {stored!r} leaves the record folder")
    file = record / base.name / relative
    if not file.resolve().is_relative_to(record.resolve()):
        raise ImportRefused(f"{where}: image path {stored!r} leaves the record folder")
    if not file.is_file():
        raise ImportRefused(
            f"{where}: the image {base.name}/{relative} is missing. BackdoorBench keeps the "
            f"poisoned images as PNG files in {base.name}/ next to attack_result.pt: keep the "
            "whole record folder together"
        )
    try:
        with Image.open(file) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except OSError as err:
        raise ImportRefused(f"{where}: {base.name}/{relative} is not a readable image") from err
    return array


def _field(state: Mapping[Any, Any], key: str, what: str) -> Any:
    if key not in state:
        raise ImportRefused(
            f"{what} has no {key!r}; keys found: {', '.join(sorted(map(str, state)))}"
        )
    return state[key]


def _read_dataset(
    state: object, what: str, record: Path, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Images, backdoor labels, original labels (or None) and clean-set indices of the
    poisoned samples a `prepro_cls_DatasetBD_v2.retrieve_state()` covers."""
    if not isinstance(state, Mapping):
        raise ImportRefused(f"{what} is a {type(state).__name__}, not a dataset state dict")
    container = _field(state, "bd_data_container", what)
    if not isinstance(container, Mapping):
        raise ImportRefused(f"{what}['bd_data_container'] is not a dict")
    data = _field(container, "data_dict", f"{what}['bd_data_container']")
    if not isinstance(data, Mapping):
        raise ImportRefused(f"{what}['bd_data_container']['data_dict'] is not a dict")
    folder = container.get("save_folder_path")
    indicator = np.asarray(_field(state, "poison_indicator", what)).reshape(-1)
    covered = np.asarray(_field(state, "original_index_array", what)).reshape(-1)
    entries = {int(key): value for key, value in data.items()}
    index = [int(i) for i in covered if 0 <= int(i) < len(indicator) and indicator[int(i)] == 1]
    images: list[NDArray[np.uint8]] = []
    labels: list[int] = []
    originals: list[int] = []
    for i in index:
        where = f"{what} sample {i}"
        if i not in entries:
            raise ImportRefused(f"{where} is marked poisoned but has no stored image")
        entry = entries[i]
        if isinstance(entry, Mapping):  # on disk: {"path", "other_info": [bd_label, label]}
            if not isinstance(folder, str):
                raise ImportRefused(f"{where}: an image path without a save_folder_path")
            images.append(_png(record, folder, str(_field(entry, "path", where)), where))
            info = list(_field(entry, "other_info", where))
        elif isinstance(entry, tuple | list) and len(entry) >= 2:  # in memory: (img, *info)
            images.append(_image(entry[0], where))
            info = list(entry[1:])
        else:
            raise ImportRefused(f"{where}: unexpected entry of type {type(entry).__name__}")
        labels.append(int(info[0]))
        if len(info) >= 2:
            originals.append(int(info[1]))
    shapes = {img.shape for img in images}
    if len(shapes) > 1:
        raise ImportRefused(f"{what}: the images differ in size: {sorted(shapes)}")
    stacked = (
        torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
        if images
        else torch.empty((0, 3, *size), dtype=torch.uint8)
    )
    original = torch.tensor(originals, dtype=torch.int64) if len(originals) == len(index) else None
    return (
        stacked,
        torch.tensor(labels, dtype=torch.int64),
        original,
        torch.tensor(index, dtype=torch.int64),
    )


def read_backdoorbench(path: Path) -> BackdoorBenchResult:
    """A BackdoorBench `attack_result.pt`, read without running code (module docstring).

    On-disk images are read from the folders next to `path` (its record folder)."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path.name}: no such file")
    raw = safe_load(path)
    if not isinstance(raw, Mapping):
        raise ImportRefused(
            f"{path.name} holds a {type(raw).__name__}, not BackdoorBench's attack result dict"
        )
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise ImportRefused(
            f"{path.name} is not a BackdoorBench attack result: it lacks "
            f"{', '.join(missing)}; keys found: {', '.join(sorted(map(str, raw)))}"
        )
    model_name = str(raw["model_name"])
    img_size = list(raw["img_size"])
    if len(img_size) < 2:
        raise ImportRefused(f"{path.name}: img_size {img_size} is not (H, W, C)")
    state = unwrap(raw["model"])
    our_name: str | None = None
    if model_name in SUPPORTED_MODELS:
        our_name, state = to_ours(model_name, state)
    size = (int(img_size[0]), int(img_size[1]))
    test = _read_dataset(raw["bd_test"], "bd_test", path.parent, size)
    train = (
        None
        if raw["bd_train"] is None
        else _read_dataset(raw["bd_train"], "bd_train", path.parent, size)
    )
    return BackdoorBenchResult(
        model_name=model_name,
        our_model_name=our_name,
        num_classes=int(raw["num_classes"]),
        image_size=size,
        state=state,
        clean_data=str(raw["clean_data"]),
        bd_test_images=test[0],
        bd_test_labels=test[1],
        bd_test_original_labels=test[2],
        bd_test_original_index=test[3],
        bd_train_images=None if train is None else train[0],
        bd_train_labels=None if train is None else train[1],
        bd_train_original_index=None if train is None else train[3],
    )
