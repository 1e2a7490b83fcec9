from __future__ import annotations

import pytest
import torch

from unlearnscope.config import PhaseConfig
from unlearnscope.ml.ewc import EWCPenalty
from unlearnscope.ml.imageset import ImageSet
from unlearnscope.ml.kinds.protocol import (
    PhaseContext,
    PhaseData,
    StepOutcome,
    frozen_copy,
    start_phase,
)
from unlearnscope.ml.kinds.recovery.step import distillation, unlikelihood
from unlearnscope.ml.models.classifier import build_model


class Phase:
    """A phase of `kind` started on `model` outside the engine; `step()` takes one step."""

    def __init__(
        self,
        model: torch.nn.Module,
        cfg: PhaseConfig,
        data: PhaseData,
        ewc: EWCPenalty | None,
        gen: torch.Generator,
    ) -> None:
        self.ctx = PhaseContext(model, cfg, None, data, ewc, gen, torch.device("cpu"), 0)
        self.run = start_phase(cfg.kind, self.ctx)

    def step(self) -> StepOutcome:
        outcome = self.run.step(self.ctx)
        self.ctx.phase_step += 1
        return outcome


def test_unlikelihood_is_minus_log_of_one_minus_target_probability() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [-3.0, 1.0, 0.5]])
    target = torch.tensor([0, 0])
    p = logits.softmax(1)[:, 0]
    torch.testing.assert_close(unlikelihood(logits, target), (-torch.log(1 - p)).mean())
    # extreme logits stay finite (log space)
    assert torch.isfinite(unlikelihood(torch.tensor([[80.0, -80.0]]), torch.tensor([0])))


def _data() -> PhaseData:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (32, 3, 16, 16), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (32,), generator=g)
    forget = ImageSet(imgs[:8], torch.zeros(8, dtype=torch.long), [str(i) for i in range(10)])
    clean = ImageSet(imgs[8:], labels[8:], [str(i) for i in range(10)])
    return PhaseData(forget, clean, "flip")


def test_ascent_raises_forget_loss_and_clips_the_gradient() -> None:
    torch.manual_seed(0)
    model = build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)
    data = _data()
    cfg = PhaseConfig(kind="ascent", steps=5, lr=0.05, batch_size=8, clip_norm=0.5)
    phase = Phase(model, cfg, data, None, torch.Generator().manual_seed(1))
    first = phase.step()
    for _ in range(4):
        last = phase.step()
    assert last.ce > first.ce  # ascent: the forget-set CE goes up
    total = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert total.norm() <= 0.5 + 1e-4 < last.grad_norm  # clipped after measuring


def test_ewc_penalty_is_reported_and_weighted() -> None:
    torch.manual_seed(0)
    model = build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)
    ewc = EWCPenalty(model, {n: torch.ones_like(p) for n, p in model.named_parameters()})
    cfg = PhaseConfig(kind="recovery", steps=2, lr=0.1, batch_size=8, ewc_lambda=3.0)
    phase = Phase(model, cfg, _data(), ewc, torch.Generator().manual_seed(1))
    first = phase.step()
    assert first.penalty == 0.0  # still at the anchor
    expected = 3.0 * ewc(model).item()  # the penalty at the weights the step starts from
    second = phase.step()
    assert expected > 0
    assert abs(second.penalty - expected) < 1e-5 * expected


def test_distillation_is_scaled_kl_from_teacher_to_student() -> None:
    student = torch.tensor([[1.0, 0.0, -1.0], [0.2, 0.3, 2.0]])
    teacher = torch.tensor([[2.0, -1.0, 0.0], [0.2, 0.3, 2.0]])
    t = 2.0
    q = (teacher / t).softmax(1)
    p = (student / t).softmax(1)
    expected = (q * (q.log() - p.log())).sum(1).mean() * t * t
    torch.testing.assert_close(distillation(student, teacher, t), expected)
    assert distillation(teacher, teacher, t).abs() < 1e-6  # nothing to learn from itself


def _drift_from_teacher(distill_weight: float) -> float:
    """KL(teacher || model) on the clean images after fitting random labels."""
    torch.manual_seed(0)
    model = build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)
    data = _data()
    data.teacher = frozen_copy(model)
    cfg = PhaseConfig(
        kind="recovery", steps=10, lr=0.1, batch_size=16, distill_weight=distill_weight
    )
    phase = Phase(model, cfg, data, None, torch.Generator().manual_seed(1))
    for _ in range(10):
        phase.step()
    x = data.clean.batch(torch.arange(len(data.clean)))[0]
    with torch.no_grad():
        return distillation(model(x), data.teacher(x), 1.0).item()


def test_distillation_holds_the_model_near_its_teacher() -> None:
    free, held = _drift_from_teacher(0.0), _drift_from_teacher(5.0)
    assert held < 0.5 * free


def test_distillation_without_a_teacher_is_an_error() -> None:
    model = build_model("small_cnn", 10, (0.5,) * 3, (0.25,) * 3, width=4)
    cfg = PhaseConfig(kind="recovery", steps=1, lr=0.1, batch_size=8, distill_weight=1.0)
    phase = Phase(model, cfg, _data(), None, torch.Generator().manual_seed(1))
    with pytest.raises(RuntimeError, match="teacher"):
        phase.step()
