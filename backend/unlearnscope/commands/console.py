"""Terminal view of a run: progress bars per stage and phase, metric lines, a final table."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

from ..events import (
    ErrorEvent,
    Evaluation,
    EventBase,
    ForgetSetFound,
    Measurement,
    PathEvaluated,
    PhaseEnd,
    PhaseStart,
    PhaseVisualEvent,
    Progress,
    RunFinished,
    RunStarted,
    ScheduleEdit,
    StatusEvent,
    StepMetrics,
    TriggerFound,
)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def path_line(e: PathEvaluated) -> str:
    """The backdoor-connected path in one line: ASR from the backdoored model to now."""
    asr = " ".join("?" if v is None else f"{v:.0f}" for v in e.asr)
    ca = " ".join(f"{v:.0f}" for v in e.ca)
    return (
        f"path ({e.label}): from the backdoored model to now, ASR % {asr}; CA % {ca} "
        f"({e.seconds:.1f} s)"
    )


def found_line(e: ForgetSetFound) -> str:
    """One line for a detection's result."""
    return f"{e.describe()}: the forget set from here on ({e.rule})"


class ConsoleReporter:
    """An `emit` target: draws tqdm bars on `stream` and prints evaluations."""

    def __init__(self, stream: TextIO | None = None) -> None:
        # sys.stderr as it is now (not when this module was imported: a test's capture)
        self.stream = stream if stream is not None else sys.stderr
        self.bar: tqdm | None = None
        self.bar_key = ""
        self.evaluations: list[Evaluation] = []
        self.finished: RunFinished | None = None
        self.last: dict[str, float | None] = {}
        self.last_step = -1
        # the latest text of each of the phase's visuals (the kind's verdict: what NC
        # flagged, how many neurons ANP pruned), printed when the phase ends
        self.visuals: dict[str, str] = {}

    def _print(self, text: str) -> None:
        if self.bar is not None:  # above the bar, on the bar's stream (not stdout)
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream)

    def _open(self, key: str, total: int, desc: str) -> None:
        self._close()
        self.bar = tqdm(total=total, desc=desc, file=self.stream, leave=True, dynamic_ncols=True)
        self.bar_key = key

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None
        self.bar_key = ""

    def _remember(self, e: Measurement | Evaluation) -> None:
        """The bar shows the newest numbers, measured (monitor subset) or evaluated (the
        full test set at a phase end), whichever came at the later step."""
        if e.step < self.last_step:
            return  # a live measurement that lagged behind an evaluation
        self.last_step = e.step
        for key in ("asr", "ca", "ra", "tar_median"):
            if getattr(e, key) is not None:
                self.last[key] = getattr(e, key)

    def __call__(self, e: EventBase) -> None:
        if isinstance(e, Progress):
            if e.stage != self.bar_key:
                self._open(e.stage, e.total, e.stage.replace("_", " "))
            assert self.bar is not None
            self.bar.total = e.total
            self.bar.n = e.done
            if e.metrics:
                self.bar.set_postfix(_progress_postfix(e.metrics), refresh=False)
            self.bar.refresh()
        elif isinstance(e, RunStarted):
            self._close()
            target = (
                f"target class {e.target_class} ({e.classes[e.target_class]})"
                if e.target_class is not None
                else "trigger unknown (no ASR or TAR until a phase recovers one)"
            )
            print(
                f"model {e.model} ({e.n_params:,} parameters) on {e.device}, data {e.dataset}, "
                f"{target}, {e.total_steps} unlearning steps",
                file=self.stream,
            )
        elif isinstance(e, TriggerFound):
            self._close()
            print(
                f"trigger {e.source}: class {e.target_class}; ASR and TAR are measured "
                "with it from here on",
                file=self.stream,
            )
        elif isinstance(e, ForgetSetFound):
            self._close()
            print(found_line(e), file=self.stream)
        elif isinstance(e, PhaseStart):
            self.visuals = {}
            self._open(
                f"phase{e.phase_index}", e.planned_steps, f"phase {e.phase_index + 1} {e.kind}"
            )
        elif isinstance(e, Measurement):
            self._remember(e)
        elif isinstance(e, StepMetrics) and self.bar is not None:
            self.bar.set_postfix(
                {
                    "loss": f"{e.loss:.3f}",
                    "ASR": _fmt(self.last.get("asr"), 1),
                    "CA": _fmt(self.last.get("ca"), 1),
                    "RA": _fmt(self.last.get("ra"), 1),
                    "TAR": _fmt(self.last.get("tar_median")),
                },
                refresh=False,
            )
            self.bar.update(1)
        elif isinstance(e, PhaseVisualEvent):
            if e.text:
                self.visuals[e.name] = e.text
        elif isinstance(e, PhaseEnd):
            for text in self.visuals.values():
                self._print(f"phase {e.phase_index + 1}: {text}")
            self.visuals = {}
            if e.reason == "early_stop":
                self._print(
                    f"phase {e.phase_index + 1} stopped early at step {e.step}: monitor ASR "
                    f"{_fmt(e.asr, 1)}% < {_fmt(e.threshold, 1)}%"
                )
            self._close()
        elif isinstance(e, Evaluation):
            self.evaluations.append(e)
            self._remember(e)
            self._print(
                f"[{e.label}] step {e.step}: CA {e.ca:.2f}%  ASR {e.asr:.2f}%  "
                f"RA {_fmt(e.ra, 2)}%  "
                f"TAR median {_fmt(e.tar_median)} mean {_fmt(e.tar_mean)}"
            )
        elif isinstance(e, ScheduleEdit):
            verdict = "applied" if e.accepted else f"refused: {e.reason}"
            self._print(f"schedule edit at step {e.step} {verdict}")
        elif isinstance(e, ErrorEvent):
            self._close()
            print(f"error: {e.message}", file=self.stream)
        elif isinstance(e, PathEvaluated):
            self._print(path_line(e))
        elif isinstance(e, RunFinished):
            self.finished = e
        elif isinstance(e, StatusEvent) and e.status in ("stopped", "failed"):
            self._close()
            print(f"run {e.status} at step {e.step}: {e.message}", file=self.stream)

    def table(self) -> str:
        """Before/after table (Markdown), from the run's evaluations."""
        self._close()
        if not self.evaluations:
            return "no evaluation was made"
        before, after = self.evaluations[0], self.evaluations[-1]
        retention = 100.0 * after.ca / before.ca if before.ca else float("nan")
        rows = [
            ("clean accuracy (CA) %", f"{before.ca:.2f}", f"{after.ca:.2f}"),
            ("attack success rate (ASR) %", f"{before.asr:.2f}", f"{after.asr:.2f}"),
            ("robust accuracy (RA) %", _fmt(before.ra, 2), _fmt(after.ra, 2)),
            ("TAR median", _fmt(before.tar_median), _fmt(after.tar_median)),
            ("TAR mean", _fmt(before.tar_mean), _fmt(after.tar_mean)),
            ("trigger mass fraction", _fmt(before.mass_fraction, 3), _fmt(after.mass_fraction, 3)),
        ]
        lines = ["| metric | before | after |", "|---|---:|---:|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
        lines.append(
            f"\nCA retention {retention:.2f}% (after/before); "
            f"ASR {before.asr:.2f}% -> {after.asr:.2f}% at step {after.step}"
        )
        f = self.finished
        if f is not None and (f.retuned or f.reactivated):
            defended = f.after.get("asr")
            lines.append(
                f"the defended model (before the attacks on it): ASR {_fmt(defended)}%"
                + (f"; after re-tuning {_fmt(f.retuned.get('asr'))}%" if f.retuned else "")
                + (
                    f"; with the reactivation perturbation {_fmt(f.reactivated.get('asr'))}%"
                    if f.reactivated
                    else ""
                )
            )
        return "\n".join(lines)


def _progress_postfix(metrics: dict[str, float]) -> dict[str, str]:
    """Preparation metrics for a progress bar: "epoch 2/10", then loss and accuracy."""
    out = {}
    if "epoch" in metrics and "epochs" in metrics:
        out["epoch"] = f"{int(metrics['epoch'])}/{int(metrics['epochs'])}"
    for key, value in metrics.items():
        if key not in ("epoch", "epochs"):
            out[key] = f"{value:.3f}"
    return out
