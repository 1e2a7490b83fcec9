"""A real UnlearnScope server on 127.0.0.1 and WebSocket clients that watch a run: the
harness behind the streaming and memory benchmarks.

`BenchServer` runs uvicorn on `create_app` in a thread of this process (on a tmp home
with a shared model cache); `Clients` connect N healthy readers and optionally stalled raw
sockets from one child process; `measure_run` starts a run and returns what it cost.
`CpuHogs` loads the machine's other cores for the monitoring bench's loaded scenario.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..states import TERMINAL_STATUSES
from .procstats import ProcSampler

CLIENT_COUNTS = (0, 1, 10, 50)
STALL_FROM = 10  # scenarios with at least this many clients have one stalled client
RUN_TIMEOUT_S = 900.0  # the longest one run may take (a cold cache trains the model)
STALLED_RCVBUF = 32 * 1024  # a small receive buffer: the server feels the stall soon
TERMINAL = tuple(s.value for s in TERMINAL_STATUSES)


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
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.device, self.cache, self.threads, self.deflate = device, cache, threads, deflate
        self.extra = settings or {}  # more server settings (the executor, ...)
        self.home: Path | None = None
        self.served: Any = None  # api.server_thread.ServerThread

    def __enter__(self) -> BenchServer:
        from ..api.server_thread import ServerThread, free_port
        from ..settings import Settings

        self.home = Path(tempfile.mkdtemp(prefix="unlearnscope-bench-"))
        settings = Settings(
            home=self.home,
            cache_root=self.cache,
            host="127.0.0.1",
            port=free_port(),
            device=self.device,
            torch_threads=self.threads,
            **self.extra,
        )
        self.served = ServerThread(settings, ws_per_message_deflate=self.deflate).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.served is not None:
            self.served.stop()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def port(self) -> int:
        return int(self.served.port)

    @property
    def http(self) -> Any:
        return self.served.http

    @property
    def service(self) -> Any:
        return self.served.service

    def ws_url(self, run_id: str) -> str:
        return str(self.served.ws_url(f"/api/runs/{run_id}/stream"))

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
        result: dict[str, Any] = value
        return result

    def _recv(self, timeout: float) -> tuple[str, Any]:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"the bench clients did not answer within {timeout:.0f} s")
        kind, value = self.conn.recv()
        return str(kind), value

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


# -- a loaded machine ----------------------------------------------------------------------
def _spin(stop: Any) -> None:
    """Keep one core busy until `stop` is set (a child process: no GIL shared)."""
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x = (x * 31 + 7) % 1_000_003


class CpuHogs:
    """One busy process on every core that training's `threads` leave free, for the
    duration of a `with` block; `threads` None: none (a quiet machine). The bench starts
    and stops them itself, so every row of a scenario sees the same load."""

    def __init__(self, threads: int | None) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
        self.count = 0 if threads is None else max(1, cores - threads)
        self._procs: list[Any] = []
        self._ctx = multiprocessing.get_context("spawn")
        self._stop: Any = None

    def __enter__(self) -> CpuHogs:
        if self.count:
            self._stop = self._ctx.Event()
        for _ in range(self.count):
            p = self._ctx.Process(target=_spin, args=(self._stop,), daemon=True)
            p.start()
            self._procs.append(p)
        if self._procs:
            time.sleep(0.5)  # they are up and spinning before training starts
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self._stop.set()
        for p in self._procs:
            p.join(5.0)
            if p.is_alive():
                p.kill()
                p.join(5.0)
        self._procs.clear()
