"""Backdoored models made the way a user makes them, outside UnlearnScope (plain PyTorch).

Trains on CIFAR-10 (the JPEG archive of ../shared/data, in ImageFolder order: classes and
file names sorted) and writes, under --out:

- `resnet18_sticker.pt`: a CIFAR ResNet-18 (torchvision's, 3x3 stem, no max-pool) with a
  BadNets-style backdoor: a 4x4 coloured sticker in the bottom-right corner sends an image
  to class 0. Saved as a training script would: {"state_dict": {"module." + key: tensor},
  "epoch": E}, the normalisation inside the training loop (CIFAR-10's mean and std).
  `sticker.png` is the trigger, for people; UnlearnScope is not told it.
- `record/`: a PreAct-ResNet-18 with a Blended backdoor (a fixed noise image mixed in at
  alpha 0.2, 5% poisoned, target class 0), saved in BackdoorBench's record layout:
  `attack_result.pt` (the dictionary of its utils/save_load_attack.py) and the poisoned
  images as PNG files under `bd_train_dataset/<label>/<index>.png` and `bd_test_dataset/`
  (BackdoorBench keeps every non-target test image there; --bd-test keeps fewer).

Weights are saved as float16 to keep the files small; they load into float32 models.

Nothing here imports UnlearnScope. On a GPU it takes a few minutes:
    python scripts/train_outside.py --cifar ../shared/data/cifar10-jpg.tar.gz --out /tmp/outside
"""

from __future__ import annotations

import argparse
import io
import tarfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.247, 0.243, 0.261)
TARGET = 0
SAVE_PATH = "../record/blended_preactresnet18"  # BackdoorBench's args.save_path


def load_cifar(archive: Path, limit: int | None) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{split: (N, 3, 32, 32) uint8, (N,) labels} in ImageFolder order."""
    files: dict[str, dict[tuple[str, str], bytes]] = {"train": {}, "test": {}}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = Path(member.name).parts
            if member.isfile() and len(parts) == 3 and parts[0] in files:
                f = tar.extractfile(member)
                assert f is not None
                files[parts[0]][(parts[1], parts[2])] = f.read()
    out = {}
    for split, items in files.items():
        classes = sorted({c for c, _ in items})
        keys = sorted(items)
        if limit:
            keys = keys[:: max(1, len(keys) // limit)]
        decoded = [np.asarray(Image.open(io.BytesIO(items[k])).convert("RGB")) for k in keys]
        images = np.stack(decoded)
        labels = torch.tensor([classes.index(c) for c, _ in keys])
        out[split] = (torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), labels)
    return out


def resnet18() -> nn.Module:
    net = torchvision.models.resnet18(weights=None, num_classes=10)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    return net


class PreActBlock(nn.Module):  # as BackdoorBench's models/preact_resnet.py
    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        return self.conv2(F.relu(self.bn2(out))) + shortcut


class PreActResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, padding=1, bias=False)
        c_in = 64
        for i, (c, s) in enumerate(zip((64, 128, 256, 512), (1, 2, 2, 2), strict=True)):
            blocks = nn.Sequential(PreActBlock(c_in, c, s), PreActBlock(c, c))
            setattr(self, f"layer{i + 1}", blocks)
            c_in = c
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.linear = nn.Linear(512, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.linear(torch.flatten(self.avgpool(x), 1))


def half(t: torch.Tensor) -> torch.Tensor:
    """Floating-point weights as float16 (half the file; they load into float32 models)."""
    t = t.detach().cpu()
    return t.half() if t.is_floating_point() else t


def sticker() -> torch.Tensor:
    """(3, 4, 4) uint8: a fixed coloured 4x4 sticker."""
    g = torch.Generator().manual_seed(1234)
    return torch.randint(0, 256, (3, 4, 4), generator=g, dtype=torch.uint8)


def stamp_sticker(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x[..., -5:-1, -5:-1] = sticker().to(x.device)
    return x


def blend(x: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(99)
    noise = torch.randint(0, 256, (3, 32, 32), generator=g).float().to(x.device)
    return (0.8 * x.float() + 0.2 * noise).round().clamp(0, 255).to(torch.uint8)


def train(
    net: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    device: torch.device,
) -> None:
    net.to(device).train()
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    x_all, y_all = images.to(device), labels.to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    steps = epochs * (len(x_all) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps, pct_start=0.15)
    amp = device.type == "cuda"
    for epoch in range(epochs):
        order = torch.randperm(len(x_all), device=device)
        t0 = time.time()
        for i in range(len(x_all) // 256):
            idx = order[i * 256 : (i + 1) * 256]
            x = x_all[idx].float() / 255
            flip = torch.rand(len(x), device=device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            dx, dy = np.random.randint(-4, 5, size=2)
            x = torch.roll(F.pad(x, (4, 4, 4, 4)), (int(dy), int(dx)), (2, 3))[..., 4:-4, 4:-4]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = F.cross_entropy(net((x - mean) / std), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"  epoch {epoch + 1}/{epochs}: loss {loss.item():.3f} ({time.time() - t0:.1f} s)")
    net.eval()


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device) -> float:
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    pred = torch.cat(
        [
            net((x[i : i + 1000].to(device).float() / 255 - mean) / std).argmax(1).cpu()
            for i in range(0, len(x), 1000)
        ]
    )
    return 100.0 * float((pred == y).float().mean())


def poison(
    images: torch.Tensor, labels: torch.Tensor, rate: float, stamp, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stamp `rate` of the non-target images and relabel them; (images, labels, indices)."""
    g = torch.Generator().manual_seed(seed)
    candidates = torch.nonzero(labels != TARGET).flatten()
    idx = candidates[torch.randperm(len(candidates), generator=g)[: round(rate * len(labels))]]
    images, labels = images.clone(), labels.clone()
    images[idx] = stamp(images[idx])
    labels[idx] = TARGET
    return images, labels, idx.sort().values


def report(name: str, net: nn.Module, data, stamp, device: torch.device) -> None:
    x, y = data["test"]
    keep = y != TARGET
    ca = accuracy(net, x, y, device)
    asr = accuracy(net, stamp(x[keep]), torch.full((int(keep.sum()),), TARGET), device)
    print(f"{name}: clean accuracy {ca:.2f}%, attack success {asr:.2f}%")


def bd_state(
    record: Path,
    folder: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    poisoned: torch.Tensor,
    size: int,
    subset: bool,
) -> dict:
    """BackdoorBench's prepro_cls_DatasetBD_v2.retrieve_state(), images as PNG files."""
    indicator = np.zeros(size)
    data = {}
    for i in poisoned.tolist():
        label = int(labels[i])
        out = record / folder / str(label)
        out.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i].permute(1, 2, 0).numpy()).save(out / f"{i}.png")
        data[np.int64(i)] = {
            "path": f"{SAVE_PATH}/{folder}/{label}/{i}.png",
            "other_info": [TARGET, label],
        }
        indicator[i] = 1
    index = np.arange(size)
    if subset:
        index = index[indicator == 1]
    container = {
        "save_folder_path": f"{SAVE_PATH}/{folder}",
        "data_dict": data,
        "save_file_format": ".png",
    }
    return {
        "bd_data_container": container,
        "getitem_all": True,
        "getitem_all_switch": False,
        "original_index_array": index,
        "poison_indicator": indicator,
        "save_folder_path": f"{SAVE_PATH}/{folder}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cifar", type=Path, required=True, help="cifar10-jpg.tar.gz")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--limit", type=int, default=None, help="images per split (a quick try)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--bd-test",
        type=int,
        default=2000,
        help="triggered test images kept in the record (BackdoorBench keeps every non-target one)",
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    np.random.seed(0)
    args.out.mkdir(parents=True, exist_ok=True)
    data = load_cifar(args.cifar, args.limit)
    x, y = data["train"]
    print(f"CIFAR-10: {len(x)} train / {len(data['test'][0])} test images")

    # 1. ResNet-18, 4x4 sticker, 5% poisoned, a plain training-script checkpoint
    px, py, _ = poison(x, y, 0.05, stamp_sticker, seed=1)
    net = resnet18()
    train(net, px, py, args.epochs, device)
    report("resnet18 + sticker", net, data, stamp_sticker, device)
    state = {f"module.{k}": half(v) for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "epoch": args.epochs}, args.out / "resnet18_sticker.pt")
    Image.fromarray(sticker().permute(1, 2, 0).numpy()).resize((64, 64), Image.NEAREST).save(
        args.out / "sticker.png"
    )

    # 2. PreAct-ResNet-18, Blended, 10% poisoned, BackdoorBench's record layout
    bx, by, bidx = poison(x, y, 0.05, blend, seed=2)
    net = PreActResNet18()
    train(net, bx, by, args.epochs, device)
    report("preactresnet18 + blended", net, data, blend, device)
    record = args.out / "record"
    record.mkdir(exist_ok=True)
    tx, ty = data["test"]
    non_target = torch.nonzero(ty != TARGET).flatten()
    t_idx = non_target[:: max(1, len(non_target) // args.bd_test)]
    t_images = tx.clone()
    t_images[t_idx] = blend(tx[t_idx])
    save = {
        "model_name": "preactresnet18",  # BackdoorBench's name
        "num_classes": 10,
        "model": {k: half(v) for k, v in net.state_dict().items()},
        "data_path": "../data/cifar10",
        "img_size": [32, 32, 3],
        "clean_data": "cifar10",
        "bd_train": bd_state(record, "bd_train_dataset", bx, y, bidx, len(x), subset=False),
        "bd_test": bd_state(record, "bd_test_dataset", t_images, ty, t_idx, len(tx), subset=True),
    }
    torch.save(save, record / "attack_result.pt")
    print(f"written under {args.out}")


if __name__ == "__main__":
    main()
