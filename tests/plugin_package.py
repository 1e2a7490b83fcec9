"""A throwaway third-party package for the plug-in tests: a phase kind (`gentle`), an attack
(`dot`) and a model (`oneconv`), declared through entry points, plus two broken entries
(`nad`: a built-in's name; `broken`: an import error). `install(root)` writes it as an
installer lays it out (the modules and a dist-info folder with `entry_points.txt`); a
Python process with `root` on its path then has the plug-ins."""

from __future__ import annotations

import textwrap
from pathlib import Path

PACKAGE = {
    "throwaway_kind/__init__.py": '''
        """A throwaway phase kind: clean fine-tuning at a fixed share of the phase's lr."""
        from unlearnscope.ml.kinds.kind import PhaseKind

        KIND = PhaseKind(
            label="Gentle fine-tuning",
            description="Fine-tune on clean data at a share of the lr (plug-in test kind).",
            step="throwaway_kind.step:Gentle",
            uses_forget_set=False,
            settings="throwaway_kind.settings:GentleSettings",
            defaults={"steps": 3, "lr": 0.01, "batch_size": 16},
        )
    ''',
    "throwaway_kind/settings.py": """
        from pydantic import Field

        from unlearnscope.ml.kinds.settings import KindSettings


        class GentleSettings(KindSettings):
            share: float = Field(0.5, gt=0, le=1, title="LR share", description="of the lr")
    """,
    "throwaway_kind/step.py": """
        import torch

        from unlearnscope.ml.kinds.finetune import finetune_step
        from unlearnscope.ml.kinds.protocol import phase_optimizer


        class GentleRun:
            def __init__(self, ctx):
                self.opt = phase_optimizer(ctx)

            def step(self, ctx):
                outcome = finetune_step(ctx, self.opt)
                outcome.losses["share"] = ctx.settings.share
                return outcome

            def finish(self, ctx):
                return []


        class Gentle:
            def start(self, ctx):
                return GentleRun(ctx)
    """,
    "throwaway_kind/attack.py": """
        from pydantic import Field

        from unlearnscope.ml.attacks.attack import AttackKind
        from unlearnscope.ml.attacks.settings import AttackSettings

        ATTACK = AttackKind(
            label="Corner dot",
            trigger="throwaway_kind.attack:build",
            settings="throwaway_kind.attack:DotSettings",
        )


        class DotSettings(AttackSettings):
            size: int = Field(2, ge=1, le=8, title="Dot size")


        def build(s, image_size, seed):
            from unlearnscope.ml.attacks.badnets.trigger import BadNets

            return BadNets(image_size, size=s.size, position="top_left", margin=0)
    """,
    "throwaway_kind/net.py": """
        from collections import OrderedDict

        from torch import nn

        from unlearnscope.ml.models.model import ModelKind

        MODEL = ModelKind(label="One conv", build="throwaway_kind.net:build", cam_layer="conv")


        def build(num_classes, width):
            return nn.Sequential(OrderedDict(
                conv=nn.Conv2d(3, width, 3, padding=1), relu=nn.ReLU(),
                pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(), fc=nn.Linear(width, num_classes),
            ))
    """,
    "throwaway_kind-0.1.dist-info/METADATA": """
        Metadata-Version: 2.1
        Name: throwaway-kind
        Version: 0.1
    """,
    "throwaway_kind-0.1.dist-info/entry_points.txt": """
        [unlearnscope.kinds]
        gentle = throwaway_kind:KIND
        nad = throwaway_kind:KIND
        broken = throwaway_kind.missing:KIND

        [unlearnscope.attacks]
        dot = throwaway_kind.attack:ATTACK

        [unlearnscope.models]
        oneconv = throwaway_kind.net:MODEL
    """,
}


def install(root: Path) -> None:
    for name, text in PACKAGE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
