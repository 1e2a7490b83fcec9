"""Writes small BackdoorBench `attack_result.pt` files for the tests.

The dict is the one `save_attack_result` (BackdoorBench's utils/save_load_attack.py)
saves, with `bd_train`/`bd_test` as `prepro_cls_DatasetBD_v2.retrieve_state()`
(utils/bd_dataset_v2.py) returns them: numpy int64 `original_index_array` (the test set
subset to its poisoned samples, as the attack scripts do), float64 `poison_indicator`,
and a `poisonedCLSDataContainer` state whose `data_dict` is keyed by numpy int64 indices.
`on_disk=True` is what BackdoorBench's attack scripts write (PNG files under
`<save_path>/bd_*_dataset/<label>/<index>.png` and `{"path", "other_info"}` entries);
`on_disk=False` keeps `(image, bd_label, label)` in the file, with numpy HWC uint8 images
(BackdoorBench itself would put a PIL image there).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

# index in the clean set -> (HWC uint8 triggered image, backdoor label, original label)
Poisoned = dict[int, tuple[np.ndarray, int, int]]

ATTACKER_SAVE_PATH = "../record/badnet_demo"  # BackdoorBench's args.save_path


def dataset_state(
    size: int, poisoned: Poisoned, folder: str | None, record: Path, subset: bool
) -> dict[str, Any]:
    """`prepro_cls_DatasetBD_v2.retrieve_state()` of a set of `size` clean samples."""
    indicator = np.zeros(size)
    data: dict[Any, Any] = {}
    for index in sorted(poisoned):
        image, bd_label, label = poisoned[index]
        key = np.int64(index)
        if folder is None:
            data[key] = (image, bd_label, label)
        else:
            out = record / Path(folder).name / f"{label}"
            out.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(out / f"{key}.png")
            data[key] = {"path": f"{folder}/{label}/{key}.png", "other_info": [bd_label, label]}
        indicator[index] = 1
    original_index = np.arange(size)
    if subset:
        original_index = original_index[np.where(indicator == 1)[0]]
    return {
        "bd_data_container": {
            "save_folder_path": folder,
            "data_dict": data,
            "save_file_format": ".png",
        },
        "getitem_all": True,
        "getitem_all_switch": False,
        "original_index_array": original_index,
        "poison_indicator": indicator,
        "save_folder_path": folder,
    }


def write_backdoorbench(
    path: Path,
    state: dict[str, torch.Tensor],
    test_size: int,
    test_poisoned: Poisoned,
    train_size: int | None = None,
    train_poisoned: Poisoned | None = None,
    *,
    model_name: str = "preactresnet18",
    num_classes: int = 10,
    img_size: tuple[int, int, int] = (32, 32, 3),
    on_disk: bool = False,
    **extra: Any,
) -> None:
    """An `attack_result.pt` at `path` (PNG folders next to it when `on_disk`)."""
    record = path.parent

    def folder(name: str) -> str | None:
        return f"{ATTACKER_SAVE_PATH}/{name}" if on_disk else None

    bd_train = None
    if train_size is not None:
        bd_train = dataset_state(
            train_size, train_poisoned or {}, folder("bd_train_dataset"), record, subset=False
        )
    save_dict = {
        "model_name": model_name,
        "num_classes": num_classes,
        "model": state,
        "data_path": "../data/cifar10",
        "img_size": list(img_size),
        "clean_data": "cifar10",
        "bd_train": bd_train,
        "bd_test": dataset_state(
            test_size, test_poisoned, folder("bd_test_dataset"), record, subset=True
        ),
        **extra,
    }
    torch.save(save_dict, path)


def as_numpy1(path: Path) -> None:
    """Rewrite a file saved under numpy 2 as numpy 1 pickles it (`numpy.core.multiarray`)."""
    with zipfile.ZipFile(path) as zin:
        members = [(info, zin.read(info)) for info in zin.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zout:
        for info, data in members:
            if info.filename.endswith("data.pkl"):
                data = data.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
            zout.writestr(info, data)
    path.write_bytes(buffer.getvalue())
