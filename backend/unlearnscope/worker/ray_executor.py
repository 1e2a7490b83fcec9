"""The Ray executor: each run's engine in a named, detached Ray actor placed by Ray.

    UNLEARNSCOPE_EXECUTOR=ray  UNLEARNSCOPE_RAY_ADDRESS=auto|ray://head:10001|local
    UNLEARNSCOPE_RAY_NUM_CPUS=1  UNLEARNSCOPE_RAY_NUM_GPUS=0   (reserved per run)

A run's actor is `run-<id>` in the namespace "unlearnscope" (`RunActor`, ray_actor.py).
Its handle's reader thread first waits for Ray to place the actor (the run stays
`queued` meanwhile: the cluster's free resources are the concurrency limit), reports
where it landed (`on_placed`), hands over the control messages that waited, starts the
engine and then polls batches of events, acknowledging each batch by the seq of its last
event. When the engine has ended, the model comes back to the server's artifact folder
and the actor is removed. An actor that dies (its node lost, killed) fails its run only.

On a server shutdown the actors keep running (`detach`): the next server re-attaches to
each one still alive (`RayExecutor.reattach`) and polls after the last seq it stored,
so the log neither loses nor repeats an event.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from pathlib import Path
from typing import Any

from ..control import Control, Stop
from .contract import OnPlaced, RunHandle
from .handle import READ_BATCH, OnEvents, OnExit
from .process import WorkerExit, WorkerSpec
from .ray_actor import RunActor

log = logging.getLogger(__name__)

NAMESPACE = "unlearnscope"
POLL_WAIT_S = 0.25  # an actor's poll waits this long for an event before answering
CALL_TIMEOUT_S = 60.0  # a poll that takes longer than this: the actor is unreachable
UNAVAILABLE_GRACE_S = 60.0  # how long an unreachable actor may stay so before its run fails
LOCAL_OBJECT_STORE_BYTES = 256 * 1024 * 1024  # "local": a private Ray's object store


def actor_name(run_id: str) -> str:
    return f"run-{run_id}"


class RayExecutor:
    name = "ray"
    places_at_once = False
    detaches = True

    def __init__(self, address: str = "auto", num_cpus: float = 1.0, num_gpus: float = 0.0):
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self._lock = threading.Lock()
        self._actor_class: Any = None
        self._connected_here = False  # this executor called ray.init (so it disconnects)

    # -- the cluster ---------------------------------------------------------------------
    def ensure(self) -> Any:
        """Connect to the cluster once (unless this process is connected already); the
        Ray actor class."""
        import ray

        with self._lock:
            if not ray.is_initialized():
                self._connected_here = True
                if self.address == "local":  # a private single-node Ray, for one machine
                    ray.init(
                        namespace=NAMESPACE,
                        include_dashboard=False,
                        object_store_memory=LOCAL_OBJECT_STORE_BYTES,
                        log_to_driver=False,
                    )
                else:
                    ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False)
            if self._actor_class is None:
                self._actor_class = ray.remote(RunActor)
            return self._actor_class

    def pool_size(self, max_active_runs: int) -> int:
        return 100_000  # every run is handed to Ray at once; Ray queues what does not fit

    def capacity(self, max_active_runs: int) -> int:
        """Runs the cluster's resources fit at once (by GPUs when runs take GPUs)."""
        import ray

        if not ray.is_initialized():
            return 0
        api: Any = ray  # its functions are untyped
        total: dict[str, float] = api.cluster_resources()
        if self.num_gpus:
            return int(total.get("GPU", 0) // self.num_gpus)
        return int(total.get("CPU", 0) // self.num_cpus)

    def waiting_note(self) -> str:
        need = f"{self.num_cpus:g} CPU" + (f", {self.num_gpus:g} GPU" if self.num_gpus else "")
        return f"waiting for the Ray cluster to place it ({need})"

    def actor_spec(self, spec: WorkerSpec) -> WorkerSpec:
        threads = spec.torch_threads or max(1, int(self.num_cpus))
        return dataclasses.replace(spec, model_path="", torch_threads=threads)

    def handle(
        self, spec: WorkerSpec, on_events: OnEvents, on_exit: OnExit, on_placed: OnPlaced
    ) -> RunHandle:
        return RayRunHandle(self, spec, on_events, on_exit, on_placed)

    def reattach(
        self,
        spec: WorkerSpec,
        after: int,
        on_events: OnEvents,
        on_exit: OnExit,
        on_placed: OnPlaced,
    ) -> RunHandle | None:
        import ray

        self.ensure()
        try:
            actor = ray.get_actor(actor_name(spec.run_id), namespace=NAMESPACE)
        except ValueError:
            return None
        return RayRunHandle(self, spec, on_events, on_exit, on_placed, actor=actor, after=after)

    def new_actor(self, spec: WorkerSpec) -> Any:
        cls = self.ensure()
        return cls.options(
            name=actor_name(spec.run_id),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            max_concurrency=4,  # control and poll calls while the engine runs
            max_restarts=0,  # a restarted actor would restart the run: fail it instead
        ).remote(self.actor_spec(spec))

    def close(self) -> None:
        """Disconnect (a connection this executor made); the detached actors live on."""
        import ray

        with self._lock:
            if self._connected_here and ray.is_initialized():
                ray.shutdown()
            self._connected_here = False
            self._actor_class = None


class RayRunHandle:
    def __init__(
        self,
        executor: RayExecutor,
        spec: WorkerSpec,
        on_events: OnEvents,
        on_exit: OnExit,
        on_placed: OnPlaced,
        actor: Any = None,
        after: int = 0,
    ) -> None:
        self.executor = executor
        self.spec = spec
        self.run_id = spec.run_id
        self._on_events = on_events
        self._on_exit = on_exit
        self._on_placed = on_placed
        self.actor = actor
        self.reattached = actor is not None
        self.after = after  # the last seq stored by the server
        self.where: dict[str, Any] | None = None
        self.exited = threading.Event()
        self._lock = threading.Lock()
        self._backlog: list[Control] = []
        self._started = False
        self._start_failed = False
        self._detached = False
        self._reader: threading.Thread | None = None

    # -- the RunHandle interface ---------------------------------------------------------
    def start(self) -> None:
        if self.actor is None:
            self.actor = self.executor.new_actor(self.spec)
        self._reader = threading.Thread(
            target=self._read, name=f"run-{self.run_id}-ray", daemon=True
        )
        self._reader.start()

    @property
    def started(self) -> bool:
        return self._started

    @property
    def pid(self) -> int | None:
        return int(self.where["pid"]) if self.where else None

    def alive(self) -> bool:
        return self.actor is not None and not self.exited.is_set()

    def send(self, msg: Control) -> bool:
        with self._lock:
            if self.exited.is_set() or self._start_failed:
                return False
            if not self._started:
                self._backlog.append(msg)
                return True
        try:
            self.actor.control.remote(msg)
            return True
        except Exception:
            return False

    def take_backlog(self) -> list[Control]:
        with self._lock:
            backlog, self._backlog = self._backlog, []
            self._start_failed = True
            return backlog

    def kill(self) -> None:
        if self.actor is not None:
            import ray

            try:
                ray.kill(self.actor, no_restart=True)
            except Exception as err:
                log.warning("run %s: killing its actor: %s", self.run_id, err)

    def wait(self, timeout: float | None = None) -> bool:
        return self.exited.wait(timeout)

    def detach(self, timeout: float = 10.0) -> None:
        """Stop reading (a server shutdown): the actor runs on, for the next server."""
        self._detached = True
        if self._reader is not None:
            self._reader.join(timeout)

    # -- the reader thread ---------------------------------------------------------------
    def _read(self) -> None:
        import ray
        from ray.exceptions import ActorUnavailableError, GetTimeoutError, RayActorError

        finished: WorkerExit | None = None
        try:
            if not self._place():
                if not self._detached:
                    finished = WorkerExit("stopped", 0, None, error=None, cancelled=True)
                return
            unavailable_since: float | None = None
            while not self._detached:
                try:
                    ref = self.actor.poll.remote(self.after, READ_BATCH, POLL_WAIT_S)
                    events, done = ray.get(ref, timeout=CALL_TIMEOUT_S)
                    unavailable_since = None
                except (ActorUnavailableError, GetTimeoutError) as err:
                    now = time.monotonic()
                    unavailable_since = unavailable_since or now
                    if now - unavailable_since > UNAVAILABLE_GRACE_S:
                        raise RuntimeError(f"its actor is unreachable: {err}") from err
                    time.sleep(1.0)
                    continue
                if events:
                    try:
                        self._on_events(self.run_id, events)
                    except Exception:
                        log.exception("run %s: storing %d events failed", self.run_id, len(events))
                    self.after = events[-1].seq
                if done is not None:
                    finished = self._bring_back(done)
                    self._remove_actor()
                    break
        except RayActorError as err:
            finished = self._died(err)
        except Exception as err:
            log.exception("run %s: reading its actor failed", self.run_id)
            finished = WorkerExit("failed", 0, None, error=f"{type(err).__name__}: {err}")
            self.kill()
        finally:
            with self._lock:
                self._start_failed = True
            if not self._detached:
                try:
                    self._on_exit(self.run_id, finished, None)
                except Exception:
                    log.exception("run %s: handling the actor's end failed", self.run_id)
            self.exited.set()

    def _place(self) -> bool:
        """Wait until Ray placed the actor; then start its engine. False: a stop came first
        (the actor is removed) or the server is shutting down."""
        import ray

        where_ref = self.actor.where.remote()
        while True:
            ready, _ = ray.wait([where_ref], timeout=0.5)
            if ready:
                break
            if self._detached:
                return False
            with self._lock:
                cancelled = any(isinstance(m, Stop) for m in self._backlog)
            if cancelled:
                self.kill()
                return False
        self.where = ray.get(where_ref)
        if not self.reattached:
            self._on_placed(self.run_id, self.where["text"])
        with self._lock:
            for msg in self._backlog:  # in order, before the engine's first step
                self.actor.control.remote(msg)
            self._backlog.clear()
            self._started = True
        self.actor.start.remote()  # a no-op for an engine that runs already
        return True

    def _bring_back(self, done: WorkerExit) -> WorkerExit:
        """The model saved on the actor's node, written to the server's artifact folder."""
        import ray

        if not done.model_path:
            return done
        files: dict[str, bytes] = ray.get(self.actor.model_files.remote(), timeout=CALL_TIMEOUT_S)
        target = Path(self.spec.model_path)
        if ".safetensors" not in files:
            return dataclasses.replace(done, model_path=None)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix, data in sorted(files.items(), key=lambda kv: kv[0] != ".json"):
            path = target.with_suffix(suffix)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return dataclasses.replace(done, model_path=str(target))

    def _remove_actor(self) -> None:
        import ray

        try:
            ray.get(self.actor.cleanup.remote(), timeout=CALL_TIMEOUT_S)
        except Exception:
            pass
        try:
            ray.kill(self.actor, no_restart=True)
        except Exception:
            pass

    def _died(self, err: BaseException) -> WorkerExit:
        where = f" on {self.where['ip']} (node {self.where['node_id'][:6]})" if self.where else ""
        cause = str(err).strip().splitlines()
        detail = next((line for line in cause if "died" in line or "node" in line.lower()), "")
        reason = f"the Ray actor running this run{where} died"
        if detail:
            reason += f": {detail.strip()[:300]}"
        return WorkerExit("failed", 0, None, error=reason)
