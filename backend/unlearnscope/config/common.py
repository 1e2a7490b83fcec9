"""The settings' shared choices and bounds, each written once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field

# The choices, each written once; the tuples the API and the page list derive from them.
DatasetName = Literal["shapes", "cifar10", "cifar100", "gtsrb", "imagefolder", "arrays"]
CamMethod = Literal["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam"]
DATASETS: tuple[str, ...] = get_args(DatasetName)
# Classes of the built-in data sets (an image folder has as many as its class folders).
FIXED_CLASSES: dict[str, int] = {"shapes": 10, "cifar10": 10, "cifar100": 100, "gtsrb": 43}
CAM_METHODS: tuple[str, ...] = get_args(CamMethod)

MAX_SEED = 2**32 - 1  # numpy and torch both take seeds in [0, 2**32)
MAX_SIZE = 100_000_000  # images in a data set split (the server's limits are lower)
MAX_EVERY = 1_000_000  # steps between two measurements

# Every float of a config must be a finite number: NaN and +-Infinity are refused
# everywhere (JSON allows them as an extension; training on them gives NaN).
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
NormStd = Annotated[float, Field(gt=0, le=1e3, strict=True)]
NormMean = Annotated[float, Field(ge=-1e3, le=1e3, strict=True)]


def known_in(names: Mapping[str, object], what: str) -> AfterValidator:
    """A check that a name is registered (a model, an attack, a phase kind), naming the
    registered ones when it is not."""

    def known(name: str) -> str:
        if name not in names:
            raise ValueError(f"unknown {what} {name!r}; choose one of {sorted(names)}")
        return name

    return AfterValidator(known)


def listed(names: Mapping[str, object]) -> Callable[[dict[str, Any]], None]:
    """json_schema_extra that lists the registered names as the schema's enum, read when
    the schema is made (a plug-in registered by then is in it)."""

    def enum(schema: dict[str, Any]) -> None:
        schema["enum"] = list(names)

    return enum
