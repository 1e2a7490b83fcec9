"""A layer's module path in plain words, for captions: "net.features.stage3.1.1" (the demo
CNN) and "net.layer3.1.bn2" (ResNet-18) read "layer 3, block 2" and "layer 3, block 2,
norm 2"; a path of another shape is returned as it is. Blocks count from 1, as people do.
Visuals write the words followed by the path in brackets (`named`); the page shows the
words and keeps the path as their tooltip (frontend/js/run/defence/text.js)."""

from __future__ import annotations

import re

_BLOCK = re.compile(r"^(?:features\.)?(?:stage|layer)(\d+)\.(\d+)(?:\.(.+))?$")
_NORM = re.compile(r"^bn(\d+)$")


def plain_layer_name(path: str) -> str:
    """The layer at `path` (a name from model.named_modules()) in plain words."""
    name = path.removeprefix("net.")
    if name == "bn1":
        return "first convolution"
    m = _BLOCK.match(name)
    if m is None:
        return path
    words = f"layer {m[1]}, block {int(m[2]) + 1}"
    rest = m[3]
    if rest is None or rest.isdigit():  # the block's own layers by number (the demo CNN)
        return words
    norm = _NORM.match(rest)
    if norm:
        return f"{words}, norm {norm[1]}"
    if rest.startswith("downsample"):
        return f"{words}, shortcut"
    return f"{words}, {rest}"


def named(path: str) -> str:
    """Plain words, then the path in brackets: "layer 3, block 2 [net.features.stage3.1.1]"."""
    return f"{plain_layer_name(path)} [{path}]"
