"""Local worker processes against Ray actors, on the same machine (`bench --executor ray`).

    unlearnscope bench --executor ray [--quick] [--runs 20] [--ray-address ADDR]

Two measurements, each for `local` (spawned worker processes, the default executor) and
`ray` (one actor per run; UNLEARNSCOPE_EXECUTOR=ray), through a real server (uvicorn in a
thread of this process, as the streaming bench) and a real WebSocket client:

  one run    the tiny preset, a fixed schedule with a frame and TAR every step, one
             client: engine steps/s, step-to-client latency p50/p95 (the client's receive
             time minus the engine's `t`: through Ray this adds the actor's poll), and
             the time from POST to the first step (Ray: placing the actor, a fresh
             process importing torch, then preparation); medians over repeats;
  20 at once `--runs` tiny runs posted together: all must complete; wall time from the
             first POST to the last run's end. Local: `max_active_runs` = this machine's
             cores; Ray: a two-node cluster on this machine, one CPU per node and per run
             (so as many at once as local), Ray's queue holding the rest.

Without `--ray-address` a two-node cluster is started on this machine (ray.cluster_utils,
small object stores, no dashboard, every node on 127.0.0.1: bench traffic stays on
loopback) and stopped at the end.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .harness import BenchServer, RunMeasurement, measure_run, median_or_none, percentile
from .streaming import stream_body

MB = 1024 * 1024
LOOPBACK = "127.0.0.1"  # the node IP of every node of a cluster started here
BATCH_TIMEOUT_S = 1800.0


def loopback_only() -> None:
    """Keep a cluster started here on 127.0.0.1: Ray otherwise names every node, and
    resolves 127.0.0.1 in an address, by the machine's interface address. Ray's own switch
    for single-machine clusters, for this process (read at call time) and every process
    it starts (the environment)."""
    import ray._private.ray_constants as ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False


@contextmanager
def ray_cluster(address: str | None, nodes: int = 2) -> Any:
    """Connect to `address`, or start a cluster of `nodes` one-CPU nodes here."""
    import ray

    if address:
        ray.init(address=address, namespace="unlearnscope", log_to_driver=False)
        try:
            yield address
        finally:
            ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    loopback_only()
    node: dict[str, Any] = {
        "num_cpus": 1,
        "object_store_memory": 128 * MB,
        "node_ip_address": LOOPBACK,
    }
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="unlearnscope", log_to_driver=False)
    try:
        yield cluster.address
    finally:
        ray.shutdown()
        cluster.shutdown()  # type: ignore[no-untyped-call]


def _one_run_rows(
    executor: str, server: BenchServer, body: dict[str, Any], repeats: int
) -> dict[str, Any]:
    runs: list[RunMeasurement] = [measure_run(server, body, "tiny", 1, 0) for _ in range(repeats)]
    return {
        "executor": executor,
        "test": "one run, 1 client",
        "runs": len(runs),
        "completed": sum(m.status == "completed" for m in runs),
        "steps_per_s": median_or_none([m.steps_per_s for m in runs]),
        "p50_ms": median_or_none([percentile(m.latencies_ms, 50) for m in runs]),
        "p95_ms": median_or_none([percentile(m.latencies_ms, 95) for m in runs]),
        "first_step_s": median_or_none([m.prep_s for m in runs]),
        "wall_s": median_or_none([m.end_to_end_s for m in runs]),
    }


def _batch_row(executor: str, server: BenchServer, count: int) -> dict[str, Any]:
    body = {
        "name": "bench-batch",
        "schedule": [
            {"kind": "ascent", "steps": 3, "lr": 0.01, "batch_size": 16, "ewc_lambda": 10.0},
            {"kind": "recovery", "steps": 5, "lr": 0.01, "batch_size": 16},
        ],
    }
    start = time.time()
    ids = [server.create("tiny", {**body, "name": f"batch-{i}"}) for i in range(count)]
    deadline = time.monotonic() + BATCH_TIMEOUT_S
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        runs = server.http.get("/api/runs", params={"limit": 1000}).json()
        status = {r["id"]: r["status"] for r in runs if r["id"] in ids}
        if all(s in ("completed", "failed", "stopped", "interrupted") for s in status.values()):
            break
        time.sleep(0.25)
    wall = time.time() - start
    return {
        "executor": executor,
        "test": f"{count} tiny runs at once",
        "runs": count,
        "completed": sum(s == "completed" for s in status.values()),
        "steps_per_s": None,
        "p50_ms": None,
        "p95_ms": None,
        "first_step_s": None,
        "wall_s": wall,
    }


def run_executor_bench(
    quick: bool = False,
    cache: Path | None = None,
    runs: int = 20,
    ray_address: str | None = None,
    steps: int | None = None,
    repeats: int | None = None,
) -> list[dict[str, Any]]:
    from ..settings import Settings

    steps = steps or (30 if quick else 80)
    repeats = repeats or (1 if quick else 3)
    body = stream_body("tiny", steps)
    cache = cache or Settings().cache_dir
    cores = max(1, min(2, os.cpu_count() or 1))
    rows: list[dict[str, Any]] = []
    queue = {"max_queued_per_client": max(10, runs)}  # all posted at once, from here
    local = {"max_active_runs": cores, **queue}
    with BenchServer("cpu", cache, 1, settings=local) as s:
        measure_run(s, {**body, "name": "warm-up", "schedule": body["schedule"][:1]}, "tiny", 0, 0)
        rows.append(_one_run_rows("local", s, body, repeats))
        rows.append(_batch_row("local", s, runs))
    with ray_cluster(ray_address) as address:
        ray_settings = {"executor": "ray", "ray_address": address, "ray_num_cpus": 1.0, **queue}
        with BenchServer("cpu", cache, 1, settings=ray_settings) as s:
            rows.append(_one_run_rows("ray", s, body, repeats))
            rows.append(_batch_row("ray", s, runs))
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    def num(v: float | None, fmt: str = ".1f") -> str:
        return "-" if v is None else format(v, fmt)

    lines = [
        "| executor | test | completed | engine steps/s | latency p50 ms | p95 ms "
        "| POST to first step s | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['executor']} | {r['test']} | {r['completed']}/{r['runs']} "
            f"| {num(r['steps_per_s'], '.2f')} | {num(r['p50_ms'])} | {num(r['p95_ms'])} "
            f"| {num(r['first_step_s'], '.2f')} | {num(r['wall_s'])} |"
        )
    return "\n".join(lines)
