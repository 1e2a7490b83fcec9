"""`unlearnscope bench compare`: the compare view of 12 finished 2,000-step runs in Chromium.

The runs are synthesised straight into a fresh store (bench/synth.py: every step's
metrics, a measurement every 10 steps, a heatmap frame of 8 probes every 20 steps; no
training), served by a real server in this process, and opened in the system Chromium
(headless, Playwright) at 1440x900. Reported:

  first draw     navigation -> the charts' first draw (performance mark compare:first-draw)
  all drawn      navigation -> the charts drawn with every run's whole history
  heatmaps       navigation -> every run's heatmap row at its last frame, and every cell
                 drawn with its frame's heatmap
  slider         the slider moved one position per animation frame across its range:
                 the frame interval (p50/p95/max, ms; 16.7 = 60 fps) and the script time
                 of the input handler (the renders it schedules run in the next frame,
                 inside the frame interval)
and, as the alternative, each of the 12 runs opened in its own run view one after
another (navigation -> its charts and slider at step 2,000), and that view's slider.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}
SCHEDULES = ("ascent", "recovery", "ascent", "recovery")

MOVE_JS = """
async ({ selector, moves }) => {
  const slider = document.querySelector(selector);
  const max = Number(slider.max), min = Number(slider.min);
  const intervals = [], work = [];
  let last = null;
  for (let i = 0; i <= moves; i++) {
    const now = await new Promise((r) => requestAnimationFrame(r));
    if (last !== null) intervals.push(now - last);
    last = now;
    const t0 = performance.now();
    slider.value = String(min + ((max - min) * (i % moves)) / moves);
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    work.push(performance.now() - t0);
  }
  // the renders scheduled by the last move
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return { intervals, work };
}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-steps", type=int, default=2000, help="compare: steps per run")
    parser.add_argument("--moves", type=int, default=240, help="compare: slider moves timed")


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _stats(name: str, values: list[float]) -> dict[str, Any]:
    return {
        "what": name,
        "p50_ms": statistics.median(values),
        "p95_ms": _pct(values, 0.95),
        "max_ms": max(values),
        "n": len(values),
    }


def synthesise(store: Any, runs: int, steps: int) -> list[str]:
    from ..presets import preset_config
    from .synth import SynthRun, store_synth_run

    ids = []
    for i in range(runs):
        kind = SCHEDULES[(i // 3) % len(SCHEDULES)]
        seed = i % 3
        cfg = preset_config(
            "demo",
            {
                "name": f"{kind} v{i // 3 + 1} seed {seed}",
                "seed": seed,
                "schedule": [{"kind": kind, "steps": steps, "lr": 0.001 * (1 + i // 3)}],
            },
        )
        spec = SynthRun(
            steps=steps,
            before=(97.0 + seed, 90.0),
            after=(2.0 + 3 * (i // 3) + seed, 88.0 - 2 * (i // 3)),
            model_key=f"bench-{seed}",
        )
        store_synth_run(store, f"bench{i:02d}", cfg, spec, seed=i)
        ids.append(f"bench{i:02d}")
    return ids


def run_compare_bench(runs: int = 12, steps: int = 2000, moves: int = 240) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    from ..api.server_thread import ServerThread, free_port
    from ..settings import Settings

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as home:
        srv = ServerThread(
            Settings(home=Path(home), host="127.0.0.1", port=free_port(), device="cpu"),
            ws_max_size=64 * 1024 * 1024,
        ).start()
        try:
            t0 = time.perf_counter()
            ids = synthesise(srv.service.store, runs, steps)
            print(
                f"synthesised {runs} runs x {steps} steps in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
                )
                try:
                    rows += _compare(browser, srv.url, ids, steps, moves)
                    rows += _singles(browser, srv.url, ids, steps, moves)
                finally:
                    browser.close()
        finally:
            srv.stop()
    return rows


def _mark(page: Any, name: str) -> float:
    return float(page.evaluate(f"performance.getEntriesByName('{name}')[0].startTime"))


def _compare(
    browser: Any, url: str, ids: list[str], steps: int, moves: int
) -> list[dict[str, Any]]:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(300_000)
    page.goto(f"{url}/#/compare/{','.join(ids)}")
    page.wait_for_function("performance.getEntriesByName('compare:all-drawn').length > 0")
    page.wait_for_function(
        f"document.querySelectorAll('#compare-heat tbody tr[data-frame=\"{steps}\"]').length"
        f" === {len(ids)}",
        polling="raf",
    )
    heat = float(page.evaluate("performance.now()"))
    # every cell's canvas drawn with its frame's heatmap, not the image alone
    page.wait_for_function(
        "[...document.querySelectorAll('#compare-heat tbody canvas')]"
        ".every((c) => c.dataset.heat === '1')",
        polling="raf",
    )
    maps = float(page.evaluate("performance.now()"))
    first, done = _mark(page, "compare:first-draw"), _mark(page, "compare:all-drawn")
    out: list[dict[str, Any]] = [
        {"what": f"compare view, {len(ids)} runs: first chart draw", "ms": first},
        {"what": f"compare view, {len(ids)} runs: charts with all history", "ms": done},
        {"what": f"compare view, {len(ids)} runs: heatmap table at the last step", "ms": heat},
        {"what": f"compare view, {len(ids)} runs: every heatmap drawn", "ms": maps},
    ]
    page.evaluate("() => document.querySelector('#compare-slider').scrollIntoView()")
    result = page.evaluate(MOVE_JS, {"selector": "#compare-slider", "moves": moves})
    out.append(_stats("compare slider: frame interval", result["intervals"]))
    out.append(_stats("compare slider: input handler time per move", result["work"]))
    page.close()
    return out


def _singles(
    browser: Any, url: str, ids: list[str], steps: int, moves: int
) -> list[dict[str, Any]]:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(300_000)
    times = []
    for run_id in ids:
        page.goto("about:blank")
        page.goto(f"{url}/#/run/{run_id}")
        page.wait_for_function(
            f"(document.querySelector('#step-label')?.dataset.step === '{steps}') && "
            "document.querySelectorAll('.js-plotly-plot').length >= 3 && "
            f"document.querySelector('#step-label').textContent.includes('of {steps}')",
            polling="raf",
        )
        times.append(float(page.evaluate("performance.now()")))
    result = page.evaluate(MOVE_JS, {"selector": "#step-slider", "moves": moves})
    page.close()
    return [
        {"what": f"{len(ids)} single-run views, one after another: total", "ms": sum(times)},
        {"what": "single-run view: mean time to its last step", "ms": statistics.mean(times)},
        _stats("single-run slider (1 run): frame interval", result["intervals"]),
        _stats("single-run slider (1 run): input handler time per move", result["work"]),
    ]


def format_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| measurement | ms | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for r in rows:
        if "ms" in r:
            lines.append(f"| {r['what']} | {r['ms']:.0f} | | | |")
        else:
            lines.append(
                f"| {r['what']} | | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['max_ms']:.1f} |"
            )
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    if not Path(CHROMIUM).exists():
        print(f"unlearnscope bench compare: no Chromium at {CHROMIUM}", flush=True)
        return 2
    runs = 12 if args.runs is None else args.runs
    if not 2 <= runs <= 12:
        print(f"unlearnscope bench compare: --runs {runs}: the compare view takes 2 to 12 runs")
        return 2
    print(
        f"unlearnscope bench compare: {runs} finished runs x {args.run_steps} steps, "
        f"Chromium {VIEWPORT['width']}x{VIEWPORT['height']}, {args.moves} slider moves",
        flush=True,
    )
    rows = run_compare_bench(runs, args.run_steps, args.moves)
    print(format_table(rows))
    return 0
