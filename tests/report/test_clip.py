"""The clip: an animation Pillow decodes, with the frames, size and timing asked for."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_runs import COMPLETED, FAILED

from unlearnscope.commands.main import main
from unlearnscope.report.clip import ClipError, ClipOptions, render_clip


def frames_of(data: bytes) -> list[Image.Image]:
    im = Image.open(io.BytesIO(data))
    out = []
    for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        out.append(im.convert("RGB"))
    return out


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_clip_has_one_frame_per_heatmap_frame_at_1280x720(facts, fmt: str) -> None:
    f = facts[COMPLETED]
    data = render_clip(f, fmt)
    im = Image.open(io.BytesIO(data))
    assert im.format == fmt.upper()
    assert im.size == (1280, 720) and getattr(im, "n_frames", 1) == len(f.frames)
    frames = frames_of(data)
    top = [np.asarray(x)[:110] for x in (frames[0], frames[-1])]  # the burned-in header
    assert not np.array_equal(top[0], top[1]), "step and numbers change from frame to frame"


def test_clip_options_probes_fps_size_and_frame_cap(facts) -> None:
    f = facts[COMPLETED]
    data = render_clip(
        f, "gif", ClipOptions(probes=[0, 2], fps=4, width=640, height=360, max_frames=4)
    )
    im = Image.open(io.BytesIO(data))
    assert im.size == (640, 360) and getattr(im, "n_frames", 1) == 4
    im.seek(1)
    assert im.info["duration"] == 250
    with pytest.raises(ClipError, match="do not exist"):
        render_clip(f, "gif", ClipOptions(probes=[99]))


def test_failed_run_has_no_clip(facts) -> None:
    with pytest.raises(ClipError, match="no heatmap frames"):
        render_clip(facts[FAILED], "gif")


def test_clip_from_cli_and_api(report_home: Path, model_cache: Path, tmp_path) -> None:
    from live_server import LiveServer

    out = tmp_path / "c.webp"
    assert (
        main(
            [
                "report",
                COMPLETED,
                "--home",
                str(report_home),
                "--clip",
                str(out),
                "--probes",
                "1",
                "--size",
                "480x270",
                "--fps",
                "2",
            ]
        )
        == 0
    )
    im = Image.open(out)
    assert im.format == "WEBP" and im.size == (480, 270)
    with LiveServer(report_home, model_cache) as server:
        r = server.http.get(f"/api/runs/{COMPLETED}/clip.gif", params={"width": 640, "height": 360})
        bad = server.http.get(f"/api/runs/{COMPLETED}/clip.gif", params={"probes": "7"})
        odd = server.http.get(f"/api/runs/{COMPLETED}/clip.gif", params={"probes": "0;2"})
        none = server.http.get(f"/api/runs/{FAILED}/clip.gif")
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    assert Image.open(io.BytesIO(r.content)).size == (640, 360)
    assert bad.status_code == 404 and "probes" in bad.json()["detail"]  # the run has no 7
    assert odd.status_code == 422 and odd.json()["fields"] == ["query.probes"]  # its form
    assert none.status_code == 404
