"""Fan-out cost: engine steps/s and step-to-client latency with 0..50 WebSocket clients.

    python -m unlearnscope.bench.streaming [--quick] [--clients 0,1,10,50] [--device cpu]

A real server on 127.0.0.1 (uvicorn in a thread of this process, `create_app` on a tmp
home, the shared model cache, torch threads as the server sets them) runs a fixed-length
schedule on the demo preset with `monitor.budget: 0`: a heatmap frame and TAR after every
step, ASR/CA every 5 steps, no early stop, so every run has the same steps and events.
Each run has N clients connected before its first step; with N >= 10 one of them is a
raw socket that never reads (a stalled browser tab), the others read everything.

  steps/s   (steps - 1) / (t of the last step event - t of the first): the engine's own
            pace while running, preparation excluded; ratio to the run with no client;
  latency   receive time at a healthy client - the engine's `t` on the event (both
            time.time() on one machine), every event between the first and last step;
  CPU       cores used by the server process and by the client process while running.

The clients offer per-message deflate, as browsers do; the server declines it, as
`unlearnscope serve` does (`--deflate`: accept it, uvicorn's default, to see what it cost:
one compression of every message per client).

The clients run in one child process (one asyncio loop, `websockets`), not in a thread
of this one: here they would share the GIL with the server's event loop and slow the
fan-out they measure. They keep only each message's receive time and JSON header while
the run goes and decode after it ends; their CPU share is printed, so a table whose
clients were the bottleneck says so. Scenarios alternate within each repeat, in
ABBA order (so background load hits them alike); the table gives medians over repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .memory import ProcSampler, mib

CLIENT_COUNTS = (0, 1, 10, 50)
STALL_FROM = 10  # scenarios with at least this many clients have one stalled client
RUN_TIMEOUT_S = 900.0  # the longest one run may take (a cold cache trains the model)
STALLED_RCVBUF = 32 * 1024  # a small receive buffer: the server feels the stall soon
TERMINAL = ("completed", "stopped", "failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# -- the server ----------------------------------------------------------------------------
class BenchServer:
    """A real uvicorn on 127.0.0.1 in a thread of this process, on a tmp home.

    Uvicorn's options are those of `unlearnscope serve`; `deflate=True` turns per-message
    deflate back on (uvicorn's default, which browsers accept) to measure what it costs.
    In-process, so the bench can reach the service (a run's worker pid) while every
    request and stream still goes over real sockets.
    """

    def __init__(
        self,
        device: str = "cpu",
        cache: Path | None = None,
        threads: int | None = None,
        deflate: bool = False,
    ) -> None:
        self.device, self.cache, self.threads, self.deflate = device, cache, threads, deflate
        self.home: Path | None = None
        self.port = 0
        self.app: Any = None
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.http: Any = None

    def __enter__(self) -> BenchServer:
        import httpx
        import uvicorn

        from ..api.app import create_app
        from ..api.serve import UVICORN_OPTIONS
        from ..settings import Settings

        self.home = Path(tempfile.mkdtemp(prefix="unlearnscope-bench-"))
        self.port = free_port()
        settings = Settings(
            home=self.home,
            cache_root=self.cache,
            host="127.0.0.1",
            port=self.port,
            device=self.device,
            torch_threads=self.threads,
        )
        self.app = create_app(settings)
        options = {**UVICORN_OPTIONS, "ws_per_message_deflate": self.deflate}
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the bench server did not start")
            time.sleep(0.05)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.http is not None:
            self.http.close()
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(60)
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def service(self) -> Any:
        return self.app.state.service

    def ws_url(self, run_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/runs/{run_id}/stream"

    def create(self, preset: str, body: dict[str, Any]) -> str:
        r = self.http.post("/api/runs", params={"preset": preset}, json=body)
        if r.status_code != 201:
            raise RuntimeError(f"POST /api/runs?preset={preset}: {r.status_code} {r.text}")
        return str(r.json()["id"])

    def step_times(self, run_id: str) -> list[float]:
        r = self.http.get(f"/api/runs/{run_id}/events", params={"type": "step", "limit": 10000})
        r.raise_for_status()
        return [float(e["t"]) for e in r.json()["events"]]


# -- the clients (a child process) ---------------------------------------------------------
def _stalled_socket(url: str) -> socket.socket:
    """A WebSocket handshake on a bare socket that will never read another byte."""
    hostport, path = url.split("//", 1)[1].split("/", 1)
    host, port = hostport.rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF)
    sock.settimeout(60)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # byte by byte: read nothing past the handshake
        if not chunk:
            raise ConnectionError("the server closed the stalled client's handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"stalled client refused: {head[:80]!r}")
    return sock


async def _read_all(ws: Any) -> list[tuple[float, str | bytes, int]]:
    """(receive time, JSON header, size) of every message until the server closes."""
    from websockets.exceptions import ConnectionClosed

    log: list[tuple[float, str | bytes, int]] = []
    append = log.append
    try:
        async for raw in ws:
            now = time.time()
            if isinstance(raw, bytes):  # [uint32 N][N bytes JSON header][parts]
                append((now, raw[4 : 4 + int.from_bytes(raw[:4], "big")], len(raw)))
            else:
                append((now, raw, len(raw)))
    except ConnectionClosed:
        pass
    return log


async def _watch(conn: Any, healthy: int, stalled: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    url = conn.recv()
    stalls = [_stalled_socket(url) for _ in range(stalled)]
    sockets = await asyncio.gather(
        *(connect(url, max_size=None, open_timeout=60) for _ in range(healthy))
    )
    conn.send(("connected", time.time()))
    cpu0, wall0 = time.process_time(), time.perf_counter()
    logs = await asyncio.gather(*(_read_all(ws) for ws in sockets))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    for sock in stalls:
        sock.close()
    clients = []
    for log in logs:
        rows = []
        for received, head, size in log:
            h = json.loads(head)
            t = float(h.get("t", 0))
            rows.append((str(h.get("type")), int(h.get("seq", 0)), t, received, size))
        clients.append(rows)
    return {"clients": clients, "cpu_s": cpu, "wall_s": wall}


def _client_process(conn: Any, healthy: int, stalled: int) -> None:
    try:
        conn.send(("done", asyncio.run(_watch(conn, healthy, stalled))))
    except BaseException as err:
        conn.send(("error", f"{type(err).__name__}: {err}"))


class Clients:
    """`healthy` reading clients and `stalled` stalled ones, in one child process."""

    def __init__(self, healthy: int, stalled: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_client_process, args=(child, healthy, stalled), daemon=True
        )
        self.process.start()
        child.close()

    def connect(self, url: str, timeout: float = 120.0) -> float:
        """Connect them all to `url`; the time when the last one was connected."""
        self.conn.send(url)
        kind, value = self._recv(timeout)
        if kind != "connected":
            raise RuntimeError(f"the bench clients failed: {value}")
        return float(value)

    def result(self, timeout: float = 120.0) -> dict[str, Any]:
        kind, value = self._recv(timeout)
        self.process.join(10)
        if kind != "done":
            raise RuntimeError(f"the bench clients failed: {value}")
        return value

    def _recv(self, timeout: float) -> tuple[str, Any]:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"the bench clients did not answer within {timeout:.0f} s")
        return self.conn.recv()

    def close(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


# -- one run -------------------------------------------------------------------------------
@dataclass
class RunMeasurement:
    status: str
    steps: int
    steps_per_s: float | None
    prep_s: float | None  # POST -> first step
    end_to_end_s: float | None  # POST -> the last event at a client (or the worker's exit)
    latencies_ms: list[float] = field(default_factory=list)  # healthy clients, while running
    frame_latencies_ms: list[float] = field(default_factory=list)
    skipped: int = 0  # frames the healthy clients got as `skipped` notices
    events_per_s: float | None = None  # per healthy client, while running
    kib_per_s: float | None = None
    late_clients: bool = False  # a client connected only after the first step
    server_cpu: float | None = None  # cores, while running
    worker_cpu: float | None = None
    clients_cpu: float | None = None  # cores, from connection to the end of the stream
    server_peak: int | None = None  # bytes, sampled VmRSS during the run
    worker_peak: int | None = None  # bytes, VmHWM


def measure_run(
    server: BenchServer, body: dict[str, Any], preset: str, healthy: int, stalled: int
) -> RunMeasurement:
    """Start one run with `healthy` + `stalled` clients watching; wait for its end."""
    clients = Clients(healthy, stalled) if healthy or stalled else None
    try:
        with ProcSampler() as sampler:
            sampler.watch("server", os.getpid())
            posted = time.time()
            run_id = server.create(preset, body)
            handle = server.service.worker(run_id)
            if handle is not None and handle.pid is not None:
                sampler.watch("worker", handle.pid)
            connected = clients.connect(server.ws_url(run_id)) if clients else None
            if handle is not None and not handle.wait(RUN_TIMEOUT_S):
                raise TimeoutError(f"run {run_id} did not end within {RUN_TIMEOUT_S:.0f} s")
            exited = time.time()
            got = clients.result() if clients else None
        row = server.service.store.get(run_id)
        status = row.status if row is not None else "?"
        steps_t = server.step_times(run_id)
    finally:
        if clients is not None:
            clients.close()

    m = RunMeasurement(
        status=status,
        steps=len(steps_t),
        steps_per_s=None,
        prep_s=None,
        end_to_end_s=exited - posted,
    )
    m.worker_peak = sampler.peak_hwm("worker")
    m.server_peak = sampler.peak_rss("server")
    if len(steps_t) >= 2:
        first, last = steps_t[0], steps_t[-1]
        m.steps_per_s = (len(steps_t) - 1) / (last - first)
        m.prep_s = first - posted
        m.server_cpu = sampler.cpu_share("server", first, last)
        m.worker_cpu = sampler.cpu_share("worker", first, last)
        if connected is not None:
            m.late_clients = connected > first
    if got is not None:
        first_t = steps_t[0] if steps_t else 0.0
        last_t = steps_t[-1] if steps_t else float("inf")
        ends, count, size = [], 0, 0
        for rows in got["clients"]:
            live = False
            for kind, _seq, t, received, n in rows:
                if kind == "history_end":
                    live = True  # before it: replayed history, not live latency
                    continue
                if kind == "skipped":
                    m.skipped += 1
                if live and first_t <= t <= last_t:
                    count, size = count + 1, size + n
                    ms = 1000.0 * (received - t)
                    m.latencies_ms.append(ms)
                    if kind == "frames":
                        m.frame_latencies_ms.append(ms)
            if rows:
                ends.append(rows[-1][3])
        if ends:
            m.end_to_end_s = max(ends) - posted
        if got["clients"] and last_t > first_t:
            span = (last_t - first_t) * len(got["clients"])
            m.events_per_s, m.kib_per_s = count / span, size / 1024 / span
        if got["wall_s"] > 0:
            m.clients_cpu = got["cpu_s"] / got["wall_s"]
    return m


# -- the benchmark -------------------------------------------------------------------------
def stream_body(preset: str, steps: int) -> dict[str, Any]:
    """A fixed-length schedule on `preset`: every step streams a frame, no early stop."""
    from ..presets import PRESETS

    batch = PRESETS[preset]["schedule"][0].get("batch_size", 64)
    ascent = max(1, min(20, steps // 4))
    return {
        "name": "bench-stream",
        "monitor": {"budget": 0.0, "frame_every": 1, "tar_every": 1},
        "schedule": [
            {"kind": "ascent", "steps": ascent, "lr": 0.002, "momentum": 0.0,
             "batch_size": batch, "ewc_lambda": 5000.0, "loss_clamp": 3.0},
            {"kind": "recovery", "steps": steps - ascent, "lr": 0.005, "batch_size": batch,
             "forget_weight": 1.0},
        ],
    }  # fmt: skip


def run_streaming_bench(
    device: str = "cpu",
    quick: bool = False,
    clients: tuple[int, ...] = CLIENT_COUNTS,
    preset: str = "demo",
    cache: Path | None = None,
    threads: int | None = None,
    steps: int | None = None,
    repeats: int | None = None,
    deflate: bool = False,
) -> list[dict[str, Any]]:
    """One row per client count: medians over repeats (see the module's docstring).

    deflate: per-message deflate on (uvicorn's default; `serve` turns it off).
    """
    from ..settings import Settings

    steps = steps or (40 if quick else 120)
    repeats = repeats or (1 if quick else 3)
    body = stream_body(preset, steps)
    runs: dict[int, list[RunMeasurement]] = {n: [] for n in clients}
    cache = cache or Settings().cache_dir
    with BenchServer(device, cache, threads, deflate) as s:
        # A first run trains/caches the backdoored model and warms the data cache; not timed.
        measure_run(s, {**body, "name": "warm-up", "schedule": body["schedule"][:1]}, preset, 0, 0)
        for r in range(repeats):
            # ABBA order (forwards, backwards, ...): a load that drifts over the minutes
            # of a repeat does not favour the scenarios that come late.
            for n in clients if r % 2 == 0 else clients[::-1]:
                stalled = 1 if n >= STALL_FROM else 0
                runs[n].append(measure_run(s, body, preset, n - stalled, stalled))
    base = median_or_none([m.steps_per_s for m in runs[0]]) if 0 in runs else None
    rows = []
    for n, ms in runs.items():
        sps = median_or_none([m.steps_per_s for m in ms])
        rows.append(
            {
                "clients": n,
                "stalled": 1 if n >= STALL_FROM else 0,
                "steps": statistics.median(m.steps for m in ms),
                "steps_per_s": sps,
                "steps_per_s_runs": [m.steps_per_s for m in ms],
                "ratio": sps / base if sps and base else None,
                "p50_ms": median_or_none([percentile(m.latencies_ms, 50) for m in ms]),
                "p95_ms": median_or_none([percentile(m.latencies_ms, 95) for m in ms]),
                "frames_p95_ms": median_or_none([percentile(m.frame_latencies_ms, 95) for m in ms]),
                "events_per_s": median_or_none([m.events_per_s for m in ms]),
                "kib_per_s": median_or_none([m.kib_per_s for m in ms]),
                "max_ms": max((max(m.latencies_ms) for m in ms if m.latencies_ms), default=None),
                "skipped": sum(m.skipped for m in ms),
                "late_clients": any(m.late_clients for m in ms),
                "server_cpu": median_or_none([m.server_cpu for m in ms]),
                "worker_cpu": median_or_none([m.worker_cpu for m in ms]),
                "clients_cpu": median_or_none([m.clients_cpu for m in ms]),
                "server_peak_mib": mib(max((m.server_peak or 0) for m in ms) or None),
                "worker_peak_mib": mib(max((m.worker_peak or 0) for m in ms) or None),
                "status": ",".join(sorted({m.status for m in ms})),
                "repeats": len(ms),
            }
        )
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str = ".1f") -> str:
        return "-" if v is None else format(v, fmt)

    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.0f}%"

    lines = [
        "| clients (stalled) | steps/s | vs 0 clients | latency p50 ms | p95 ms | frames p95 ms "
        "| max ms | per client events/s, KiB/s | skipped | CPU server / worker / clients "
        "| server peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        late = " (late)" if r["late_clients"] else ""
        lines.append(
            f"| {r['clients']} ({r['stalled']}){late} | {num(r['steps_per_s'], '.2f')} "
            f"| {ratio} | {num(r['p50_ms'])} | {num(r['p95_ms'])} | {num(r['frames_p95_ms'])} "
            f"| {num(r['max_ms'], '.0f')} "
            f"| {num(r['events_per_s'])}, {num(r['kib_per_s'], '.0f')} | {r['skipped']} "
            f"| {pct(r['server_cpu'])} / {pct(r['worker_cpu'])} / {pct(r['clients_cpu'])} "
            f"| {num(r['server_peak_mib'], '.0f')} |"
        )
    return "\n".join(lines)


def parse_counts(text: str) -> tuple[int, ...]:
    counts = tuple(int(x) for x in text.split(",") if x.strip())
    if not counts or any(n < 0 for n in counts):
        raise ValueError(f"--clients {text!r}: give counts like 0,1,10,50")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m unlearnscope.bench.streaming")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="40 steps, one repeat")
    parser.add_argument("--clients", default="0,1,10,50", help="client counts (default 0,1,10,50)")
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--threads", type=int, help="torch threads per worker (server default)")
    parser.add_argument(
        "--deflate", action="store_true", help="per-message deflate on (as before the fix)"
    )
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}")
    rows = run_streaming_bench(
        args.device, args.quick, parse_counts(args.clients), args.preset, None, args.threads,
        args.steps, args.repeats, args.deflate,
    )  # fmt: skip
    print(format_table(rows))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
