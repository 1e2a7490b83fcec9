"""Users' model checkpoints, read without running anything in them.

- `read_state_dict(path)`: a `.safetensors` file (safetensors' own reader) or a
  `.pt`/`.pth`/`.bin`/`.ckpt` file read by `torch.load(..., weights_only=True)` only, so a
  pickle that would call code is refused instead of run; then `unwrap`.
- `unwrap(obj)`: the state dict inside what was saved (a bare state dict, or one under
  `state_dict`, `model`, `model_state_dict`, `net` or `state_dict_ema`), with the
  `module.` (DataParallel) and `_orig_mod.` (torch.compile) prefixes taken off.
- `load_into(net, state, what)`: a strict load that first says, in plain words, which
  keys are missing or unexpected and which shapes differ (and the class counts, when only
  the classifier head differs).

Every problem with the user's file is an `ImportRefused` whose message says what is wrong
and what to do about it.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
ACCEPTED_SUFFIXES = (".safetensors", *PICKLE_SUFFIXES)
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net", "state_dict_ema")
PREFIXES = ("module.", "_orig_mod.")  # DataParallel / DistributedDataParallel, torch.compile
MAX_NAMES = 8  # names listed per kind of mismatch in `load_into`'s message
MAX_TOP_KEYS = 10  # top-level keys listed when no state dict is found


class ImportRefused(ValueError):
    """The user's file cannot be read: the message says what is wrong and what to do."""


REFUSAL_PHRASES = ("GLOBAL", "allowlisted", "unrecognized function", "Can only build")


def refused_object(error: BaseException) -> str | None:
    """What a weights-only load refused to build: a global or class (`module.name`) when
    the message names one, "" when it refused an unnamed object, None when the file was
    not a pickle that asked for objects at all (junk, a truncated file)."""
    text = str(error)
    found = re.search(r"GLOBAL ([\w.]+)", text) or re.search(r"got <class '([\w.]+)'>", text)
    if found:
        return found.group(1)
    return "" if any(phrase in text for phrase in REFUSAL_PHRASES) else None


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a user's checkpoint file, read without running any code in it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise ImportRefused(
            f"{path.name}: unsupported file type {suffix or '(no suffix)'!r}; "
            f"save the weights as one of {', '.join(ACCEPTED_SUFFIXES)}"
        )
    if not path.is_file():
        raise ImportRefused(f"{path.name}: no such file")
    if suffix == ".safetensors":
        try:
            loaded: object = load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise ImportRefused(
                f"{path.name} is not a valid safetensors file (it may be truncated or "
                f"damaged: {err}); save it again with safetensors.torch.save_file"
            ) from err
    else:
        loaded = torch_load_weights(path)
    return unwrap(loaded)


def torch_load_weights(path: Path) -> object:
    """`torch.load(path, weights_only=True)`, its failures turned into `ImportRefused`."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        name = refused_object(err)
        if name is None:
            raise ImportRefused(
                f"{path.name} is not a valid PyTorch checkpoint (it is not a pickle torch.load "
                "can read); save it with torch.save(model.state_dict(), path)"
            ) from err
        what = f" (it asks for {name})" if name else ""
        raise ImportRefused(
            f"{path.name} holds Python objects other than tensors{what}; UnlearnScope "
            "refuses to run them. Save only the weights: torch.save(model.state_dict(), "
            "path), or safetensors.torch.save_file(model.state_dict(), path)"
        ) from err
    except Exception as err:  # torch raises RuntimeError, KeyError, EOFError, ... on junk
        raise ImportRefused(
            f"{path.name} is not a valid PyTorch checkpoint (it may be truncated or "
            f"damaged: {type(err).__name__}: {err}); save it again with "
            "torch.save(model.state_dict(), path)"
        ) from err


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    changed = True
    while changed and state:
        changed = False
        for prefix in PREFIXES:
            if all(key.startswith(prefix) for key in state):
                state = {key[len(prefix) :]: value for key, value in state.items()}
                changed = True
    return state


def _as_state_dict(obj: object) -> dict[str, torch.Tensor] | None:
    """`obj` as a state dict (its tensors, if some values are not), or None."""
    if not isinstance(obj, Mapping) or not obj:
        return None
    tensors = {
        key: value
        for key, value in obj.items()
        if isinstance(key, str) and isinstance(value, torch.Tensor)
    }
    return _strip_prefixes(tensors) if tensors else None


def _is_pure_state_dict(obj: object) -> bool:
    return (
        isinstance(obj, Mapping)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def unwrap(obj: object) -> dict[str, torch.Tensor]:
    """The state dict in a loaded checkpoint.

    A bare state dict; else the one under the first of `WRAPPER_KEYS` that holds one; else
    the tensors of a dict that mixes tensors with other values (an `epoch` next to the
    weights). `module.` and `_orig_mod.` prefixes common to every key are removed.
    """
    if _is_pure_state_dict(obj):
        return _as_state_dict(obj) or {}
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            found = _as_state_dict(obj.get(key))
            if found is not None:
                return found
        found = _as_state_dict(obj)
        if found is not None:
            return found
        keys = [str(k) for k in list(obj)[:MAX_TOP_KEYS]]
        more = f" and {len(obj) - MAX_TOP_KEYS} more" if len(obj) > MAX_TOP_KEYS else ""
        raise ImportRefused(
            "no state dict found in the checkpoint: its top-level keys are "
            f"{', '.join(keys) or '(none)'}{more}; save model.state_dict(), or a dict with it "
            f"under one of {', '.join(WRAPPER_KEYS)}"
        )
    raise ImportRefused(
        f"no state dict found in the checkpoint: it holds a {type(obj).__name__}, not a dict "
        "of tensors; save model.state_dict()"
    )


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:MAX_NAMES])
    return shown + (f" and {len(items) - MAX_NAMES} more" if len(items) > MAX_NAMES else "")


def _shape(shape: torch.Size) -> str:
    return str(tuple(shape))


def load_into(net: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """`net.load_state_dict(state, strict=True)`, after checking keys and shapes ourselves
    so that a checkpoint that does not fit is refused with a message a user can act on."""
    own = net.state_dict()
    missing = [key for key in own if key not in state]
    unexpected = [key for key in state if key not in own]
    mismatched = [key for key in own if key in state and state[key].shape != own[key].shape]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_names(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_names(unexpected)}")
        if mismatched:
            shapes = [
                f"{key} ckpt {_shape(state[key].shape)} vs model {_shape(own[key].shape)}"
                for key in mismatched
            ]
            parts.append(f"shape mismatches: {_names(shapes)}")
        message = f"the checkpoint does not fit {what}: " + "; ".join(parts)
        heads = [key for key, value in own.items() if key.endswith("weight") and value.ndim == 2]
        head = heads[-1] if heads else None
        if head is not None and head in mismatched:
            ckpt, model = state[head].shape, own[head].shape
            if state[head].ndim == 2 and ckpt[0] != model[0]:
                message += f" (the checkpoint has {ckpt[0]} classes, the data has {model[0]})"
        raise ImportRefused(message)
    net.load_state_dict(dict(state), strict=True)
