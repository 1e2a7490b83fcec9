"""Streaming throughput and step-to-client latency of one run over a real WebSocket.

Starts a server on 127.0.0.1 (uvicorn in a thread, a worker process per run), starts one
run, reads its stream from the first event, and prints

  - events/second and bytes/second while the run is `running` (preparation excluded),
  - latency = receive time at the client - the engine's `t` on the event (same clock),
    p50 / p95 / max, for scalar (JSON) and heatmap (binary) events.

    .venv/bin/python benchmarks/bench_stream.py                 # tiny, 200 steps
    .venv/bin/python benchmarks/bench_stream.py --preset demo   # the demo (about a minute)
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from unlearnscope.api.app import create_app
from unlearnscope.settings import Settings
from unlearnscope.storage.codec import unpack_frame


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--steps", type=int, default=200, help="recovery steps (tiny only)")
    parser.add_argument("--cache", help="model cache to reuse (default: a fresh tmp dir)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per worker")
    parser.add_argument(
        "--budget", type=float, default=0.0, help="tiny: monitor.budget (0: a frame every step)"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench_stream_"))
    port = free_port()
    settings = Settings(
        home=home,
        port=port,
        device=args.device,
        cache_root=Path(args.cache) if args.cache else None,
        torch_threads=args.threads,
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    body: dict = {"name": "bench"}
    if args.preset == "tiny":
        body["schedule"] = [
            {"kind": "ascent", "steps": 10, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10},
            {"kind": "recovery", "steps": args.steps, "lr": 0.01, "batch_size": 16},
        ]
        body["monitor"] = {"budget": args.budget}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            run = http.post("/api/runs", params={"preset": args.preset}, json=body).json()
            received: list[tuple[float, dict, int]] = []  # (time, header, bytes)
            with connect(f"ws://127.0.0.1:{port}/api/runs/{run['id']}/stream", max_size=None) as ws:
                while True:
                    try:
                        raw = ws.recv()
                    except ConnectionClosed:
                        break
                    now = time.time()
                    if isinstance(raw, bytes):
                        header, _ = unpack_frame(raw)
                    else:
                        header = json.loads(raw)
                    received.append((now, header, len(raw)))
    finally:
        server.should_exit = True
        thread.join(30)
        shutil.rmtree(home, ignore_errors=True)

    events = [(t, h, n) for t, h, n in received if h.get("type") != "history_end"]
    seqs = [h["seq"] for _, h, _ in events]
    assert seqs == list(range(1, len(seqs) + 1)), "gap in the stream"
    status_t = {h["status"]: h["t"] for _, h, _ in events if h["type"] == "status"}
    start, end = status_t["running"], status_t.get("completed", events[-1][1]["t"])
    during = [(t, h, n) for t, h, n in events if start <= h["t"] <= end]
    span = end - start
    steps = sum(h["type"] == "step" for _, h, _ in during)
    lat_scalar = [1000 * (t - h["t"]) for t, h, _ in during if h["type"] != "frames"]
    lat_frames = [1000 * (t - h["t"]) for t, h, _ in during if h["type"] == "frames"]
    print(
        f"preset {args.preset}: {steps} steps in {span:.2f} s while running "
        f"({steps / span:.1f} steps/s); {len(events)} events in all"
    )
    print(
        f"stream: {len(during) / span:.1f} events/s, "
        f"{sum(n for *_, n in during) / span / 1024:.0f} KiB/s while running"
    )
    for name, lat in (("scalar (JSON)", lat_scalar), ("heatmap (binary)", lat_frames)):
        if lat:
            print(
                f"latency {name:17s} n={len(lat):4d}  p50 {pct(lat, 50):6.2f} ms  "
                f"p95 {pct(lat, 95):6.2f} ms  max {max(lat):6.2f} ms"
            )


if __name__ == "__main__":
    main()
