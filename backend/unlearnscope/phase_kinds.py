"""Phase kinds: the one registry. Adding a kind is adding one entry here.

Each entry names the class that takes one step of the kind (`step`, as "module:Class",
imported only when a run uses it, so this module and the config that reads it stay free of
torch), what a person sees (label, description) and what data it needs. The RunConfig
schema, `GET /api/options`, the page's schedule editor and chart bands all read this
dict; `ml.phases.phase_step` resolves `step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PhaseKind:
    label: str  # a few words for people
    description: str  # what one step does
    step: str  # "module:Class" of the step implementation (see ml/phases.py)
    uses_forget_set: bool  # needs the defender's identified poisoned samples
    # "module:Class" of the kind's own settings (a kind_settings.KindSettings subclass), or
    # None: a kind without settings refuses a non-empty PhaseConfig.settings.
    settings: str | None = None
    # Published defaults of the common PhaseConfig fields (steps, lr, batch_size, momentum,
    # ...) that the page's schedule editor fills in when the kind is chosen.
    defaults: dict[str, Any] = field(default_factory=dict)


PHASE_KINDS: dict[str, PhaseKind] = {
    "ascent": PhaseKind(
        label="Gradient ascent",
        description="Push the loss on the forget set up (bounded by loss_clamp), with the "
        "EWC penalty holding the weights that matter for clean data.",
        step="unlearnscope.ml.phases:Ascent",
        uses_forget_set=True,
    ),
    "recovery": PhaseKind(
        label="Recovery fine-tuning",
        description="Fine-tune on the clean set; optionally keep the target unlikely on the "
        "forget set (forget_weight) and distil from the starting model (distill_weight).",
        step="unlearnscope.ml.phases:Recovery",
        uses_forget_set=False,
    ),
    # Published defences (README, Defences): defaults are the papers' CIFAR-10 settings.
    "nad": PhaseKind(
        label="Neural attention distillation",
        description="Neural Attention Distillation (Li et al., ICLR 2021): fine-tune a "
        "teacher on clean data (the first teacher_steps steps), then train the model with "
        "CE plus beta times the distance between its and the teacher's attention maps.",
        step="unlearnscope.ml.defences.nad:Nad",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.nad:NadSettings",
        # NAD code: 10 teacher epochs + 20 epochs, batch 64, on 5% of CIFAR-10 (~40
        # batches an epoch); lr 0.01 as BackdoorBench (the NAD code: 0.1, /10 every 2
        # epochs)
        defaults={"steps": 1200, "lr": 0.01, "batch_size": 64, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "sam": PhaseKind(
        label="Sharpness-aware fine-tuning",
        description="FT-SAM (Zhu et al., ICCV 2023): fine-tune on clean data with "
        "sharpness-aware minimisation: the gradient is taken at the worst weights within "
        "radius rho, the step from the current ones.",
        step="unlearnscope.ml.defences.sam:Sam",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.sam:SamSettings",
        # BackdoorBench ft-sam/cifar10.yaml: lr 0.01, batch 256, 100 epochs of 5% (~10
        # batches an epoch)
        defaults={"steps": 1000, "lr": 0.01, "batch_size": 256, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "ibau": PhaseKind(
        label="Adversarial unlearning",
        description="I-BAU (Zeng et al., ICLR 2022): rounds of finding the universal "
        "perturbation that most changes clean predictions (inner steps move only it), then "
        "unlearning it with the implicit hypergradient (outer steps).",
        step="unlearnscope.ml.defences.ibau:Ibau",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.ibau:IbauSettings",
        # I-BAU code: 5 rounds of 50 inner + 50 outer batches of 100, Adam lr 0.001
        defaults={"steps": 500, "lr": 0.001, "batch_size": 100, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "anp": PhaseKind(
        label="ANP (adversarial neuron pruning)",
        description="Adversarial Neuron Pruning (Wu & Wang, NeurIPS 2021): learn a mask per "
        "BatchNorm channel on clean data under an adversarial perturbation of the neurons "
        "(the weights stay fixed), then prune the channels whose mask ends below the "
        "threshold.",
        step="unlearnscope.ml.defences.anp:Anp",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.anp:AnpSettings",
        # ANP code: 2000 iterations of batch 128, mask SGD lr 0.2, momentum 0.9
        defaults={"steps": 2000, "lr": 0.2, "batch_size": 128, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "fineprune": PhaseKind(
        label="Fine-pruning",
        description="Fine-pruning (Liu, Dolan-Gavitt & Garg, RAID 2018): the first step "
        "prunes the last layer's channels least active on clean data (while held-out "
        "accuracy stays within a tolerance), every later step fine-tunes on clean data.",
        step="unlearnscope.ml.defences.pruning:FinePrune",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.fineprune:FinePruneSettings",
        # 1 pruning step + 200 fine-tuning steps (~10 epochs of 5% of CIFAR-10 at batch
        # 128), lr 0.01 as BackdoorBench's fine-pruning
        defaults={"steps": 201, "lr": 0.01, "batch_size": 128, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "invert": PhaseKind(
        label="Neural Cleanse (invert + unlearn)",
        description="Neural Cleanse (Wang et al., S&P 2019): reverse-engineer a trigger "
        "(mask and pattern) per candidate class, flag the classes whose trigger is "
        "abnormally small (anomaly index > 2), then fine-tune on clean images, a share "
        "stamped with the flagged trigger and kept at their true labels.",
        step="unlearnscope.ml.defences.cleanse:Invert",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.invert:InvertSettings",
        # 10 classes x 100 steps of batch 32 (NC code: batch 32, Adam lr 0.1), then 200
        # unlearning steps at lr 0.01
        defaults={"steps": 1200, "lr": 0.01, "batch_size": 32, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
    "relearn": PhaseKind(
        label="Retuning attack",
        description="The retuning attack (Min et al., NeurIPS 2024): fine-tune on a small "
        "mix of poisoned and clean images to see whether the backdoor comes back. Put it "
        "last: the results report the model before it and after it.",
        step="unlearnscope.ml.defences.relearn:Relearn",
        uses_forget_set=False,
        settings="unlearnscope.kind_settings.relearn:RelearnSettings",
        # ~5 epochs of a 500-image set at batch 128
        defaults={"steps": 20, "lr": 0.01, "batch_size": 128, "momentum": 0.9,
                  "ewc_lambda": 0.0, "clip_norm": None},
    ),
}
