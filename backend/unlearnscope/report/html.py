"""One self-contained HTML file per run: Plotly.js, data and heatmaps embedded.

Plotly.js (4.8 MB as shipped) is embedded gzip-compressed (about 1.5 MB) and unpacked in
the browser with `DecompressionStream`; the heatmaps travel as raw uint8 maps, also
gzipped, and are painted on canvases. So a whole run usually fits in the size budget; when
it does not, heatmap frames are sampled evenly (first and last kept) and the report says so.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from .. import __version__
from . import sections
from .data import RunFacts
from .verdict import result

HERE = Path(__file__).parent
MAX_BYTES = 5_000_000  # a report's size budget (bytes)


PAGE_JS = HERE.parent / "frontend" / "js"  # the live page's modules (packaged with us)


def page_draw_js() -> str:
    """The live page's heatmap drawing (js/run/heatmaps/colormap.js + draw.js) as one classic
    script defining `PageDraw`, so the report draws its cells exactly as the page does."""
    body = []
    for name in ("colormap.js", "draw.js"):
        for line in (PAGE_JS / "run" / "heatmaps" / name).read_text().splitlines():
            if line.startswith("import "):
                continue
            body.append(line.removeprefix("export "))
    inner = "\n".join(body)
    return f"const PageDraw = (() => {{\n{inner}\nreturn {{ cellPixels }};\n}})();"


@lru_cache(maxsize=1)
def plotly_bundle() -> tuple[str, str]:
    """(base64 of gzipped plotly.min.js, its version), from the installed `plotly` package."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    raw = get_plotlyjs().encode()
    return base64.b64encode(gzip.compress(raw, 9, mtime=0)).decode(), get_plotlyjs_version()


def _gz64(data: bytes) -> str:
    return base64.b64encode(gzip.compress(data, 9, mtime=0)).decode()


def _round(v: Any, digits: int = 4) -> Any:
    if isinstance(v, float):
        return round(v, digits) if math.isfinite(v) else None
    if isinstance(v, list):
        return [_round(x, digits) for x in v]
    if isinstance(v, dict):
        return {k: _round(x, digits) for k, x in v.items()}
    return v


def sample(n: int, k: int) -> list[int]:
    """k indices of range(n), evenly spaced, first and last included."""
    if k >= n:
        return list(range(n))
    return sorted({round(x) for x in np.linspace(0, n - 1, max(k, 2))})


def pack_frames(facts: RunFacts, budget: int) -> tuple[list[int], str]:
    """(indices of the frames kept, base64 of their gzipped maps) within `budget` bytes."""
    n = len(facts.frames)
    keep = list(range(n))
    while True:
        data = b"".join(facts.frames[i].maps for i in keep)
        packed = _gz64(data) if keep else ""
        if len(packed) <= budget or len(keep) <= 2:
            return keep, packed
        keep = sample(n, int(len(keep) * budget / len(packed) * 0.97))


def payload(facts: RunFacts, keep: list[int]) -> dict[str, Any]:
    frames = [facts.frames[i] for i in keep]
    probes = facts.probes
    count = min((f.count for f in frames), default=0)
    if probes is not None:
        count = min(count, len(probes.indices))
    data: dict[str, Any] = _round(
        {
            "name": facts.name,
            "status": facts.status,
            "classes": facts.classes,
            "target": facts.target_class,
            "box": facts.started.trigger_box if facts.started else None,
            "end": max(facts.last_step, 1),
            "losses": {
                k: [r[k] for r in facts.losses] for k in ("step", "kind", "ce_loss", "ewc_penalty")
            },
            "measured": facts.measured,
            "evaluations": facts.evaluations,
            "phases": facts.phases,
            "edits": [x["step"] for x in facts.edits],
            # the backdoor-connected path of the defended model (and of the re-tuned one)
            "path": _path_data(facts),
            "frames": {
                "steps": [f.step for f in frames],
                "count": count,
                "size": frames[0].size if frames else 0,
                "preds": [f.preds for f in frames],
                "confs": [_round(f.confs, 3) for f in frames],
                "tars": [_round(f.tars, 3) for f in frames],
                "total": len(facts.frames),
            },
            "probes": None
            if probes is None
            else {
                "indices": probes.indices,
                "labels": probes.labels,
                "size": probes.size,
            },
        }
    )
    return data


def _path_data(facts: RunFacts) -> dict[str, Any] | None:
    """The paths the report's path chart draws: {defended, retuned}; None without one."""
    defended = facts.defended_path()
    if defended is None or not sections.shows_hidden(facts):
        return None
    keep = ("step", "label", "alphas", "asr", "ca")
    retuned = facts.retuned_path()
    return {
        "defended": {k: defended[k] for k in keep},
        "retuned": None if retuned is None else {k: retuned[k] for k in keep},
    }


def frames_note(facts: RunFacts, keep: list[int]) -> str:
    n = len(facts.frames)
    if n == 0:
        return "No heatmap frames were recorded."
    if len(keep) == n:
        return f"All {n} recorded frames are included."
    return (
        f"{len(keep)} of the {n} recorded frames are included, evenly spaced, first and "
        f"last kept, so that this file stays under {MAX_BYTES / 1e6:.0f} MB."
    )


def _json_script(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")).replace("</", "<\\/")


def build_report(facts: RunFacts, max_bytes: int = MAX_BYTES) -> str:
    """The report as one HTML string (UTF-8 length within `max_bytes` where frames allow)."""
    plotly64, plotly_version = plotly_bundle()
    res = result(facts)
    images = facts.probe_images()
    count = min((f.count for f in facts.frames), default=0)
    probes64 = _gz64(np.ascontiguousarray(images[:count]).tobytes()) if images is not None else ""

    def fill(keep: list[int], maps64: str) -> str:
        subtitle = (
            f"{facts.status} · {sections.steps_words(facts)} · "
            + (f"run {facts.run_id} · " if facts.run_id else "")
            + sections.when(facts.t_first)
        )
        template = Template((HERE / "template.html").read_text())
        return template.substitute(
            version=sections.e(__version__),
            title=sections.e(f"{facts.name}: UnlearnScope report"),
            name=sections.e(facts.name),
            subtitle=sections.e(subtitle),
            status=sections.e(facts.status),
            css=(HERE / "report.css").read_text(),
            status_box=sections.status_box(facts),
            verdict=sections.e(res.verdict),
            tone=res.tone,
            outcome=sections.e(res.outcome),
            icon=sections.e(res.icon),
            numbers=sections.numbers(res),
            hidden=sections.gone_or_hidden(facts),
            intro=sections.intro(facts),
            what=sections.what_was_done(facts),
            trigger=sections.trigger_picture(facts),
            timeline=sections.timeline(facts),
            frames_note=sections.e(frames_note(facts, keep)),
            evaluations=sections.evaluation_table(facts),
            details=sections.details(facts, __version__, plotly_version, frames_note(facts, keep)),
            data=_json_script(payload(facts, keep)),
            maps=maps64,
            probes=probes64,
            plotly=plotly64,
            page_draw=page_draw_js(),
            js=(HERE / "report.js").read_text(),
        )

    base = len(fill(list(range(len(facts.frames))), "").encode())
    keep, maps64 = pack_frames(facts, max(max_bytes - base - 4096, 0))
    return fill(keep, maps64)


def write_report(facts: RunFacts, path: Path, max_bytes: int = MAX_BYTES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(build_report(facts, max_bytes), encoding="utf-8")
    tmp.replace(path)
    return path
