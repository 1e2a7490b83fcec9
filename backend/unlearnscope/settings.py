"""Server and tool settings: one pydantic-settings class, env prefix UNLEARNSCOPE_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".unlearnscope"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UNLEARNSCOPE_", extra="ignore")

    host: str = "127.0.0.1"  # loopback only unless told otherwise
    port: int = Field(8000, ge=0, le=65535)
    home: Path = Field(default_factory=_default_home)  # database, artifacts, caches
    data_dir: Path | None = None  # data sets (cifar10 root, imagefolder root)
    db: str | None = None  # SQLAlchemy URL; None: sqlite file in `home`
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1"
    max_active_runs: int = Field(1, ge=1, le=64)  # concurrent runs per server (one device)
    allowed_origins: list[str] = Field(default_factory=list)  # WebSocket; []: own origin only
    # Access (docs/api.md, Serving on a network). Token: required when bound beyond loopback;
    # None there: a new one at each start, printed in the URL. Set on loopback: required.
    token: str | None = Field(None, min_length=8, repr=False)
    # Host names the server answers to, besides loopback and the bind address (JSON list).
    allowed_hosts: list[str] = Field(default_factory=list)
    demo_preset: str = "demo"  # preset the page's form opens with
    # Server internals (defaults suit one user on one machine)
    cache_root: Path | None = None  # None: `home`/cache (shareable between servers)
    frontend_dir: Path | None = None  # static page served at /; None: the packaged page
    torch_threads: int | None = Field(None, ge=1)  # per worker process; None: torch's default
    max_body_bytes: int = Field(1_048_576, ge=1024)  # request bodies, bytes
    control_timeout: float = Field(15.0, gt=0)  # seconds to wait for the engine to confirm
    stop_grace: float = Field(10.0, gt=0)  # seconds a stopped worker gets before SIGKILL
    ws_max_pending: int = Field(2000, ge=10)  # messages queued per WebSocket client
    ws_max_frames: int = Field(4, ge=1)  # heatmap frames queued per client; older ones skip
    ws_send_timeout: float = Field(30.0, gt=0)  # seconds a client may leave a send unread
    # Limits per run (docs/api.md, Limits): a request past one is answered 422 naming it.
    max_total_steps: int = Field(100_000, ge=1)  # unlearning steps of a schedule, summed
    max_epochs: int = Field(100, ge=1)  # training.epochs of the backdoored model
    max_image_size: int = Field(128, ge=8)  # data.image_size, pixels
    max_batch_size: int = Field(1024, ge=1)  # training and phase batch sizes
    max_probe_count: int = Field(16, ge=0)  # monitor.probe_count
    max_tar_set_size: int = Field(1024, ge=1)  # monitor.tar_set_size and eval_size
    max_dataset_size: int = Field(200_000, ge=10)  # data.train_size / test_size, images
    # Estimated memory of one run (data set, activations, model); None: half of the RAM.
    max_run_memory_mb: int | None = Field(None, ge=64)
    max_queued_per_client: int = Field(10, ge=1)  # runs waiting to start, per client address
    min_free_disk_mb: int = Field(64, ge=0)  # below it new runs get 507 (disk full)
    max_sweep_runs: int = Field(24, ge=1, le=1000)  # runs (grid cells) of one sweep
    # Uploads of users' model files and data folders (POST /api/files): bytes per upload,
    # and for a folder archive (.zip) its files and their unpacked size.
    max_upload_bytes: int = Field(2 * 1024**3, ge=1024)
    max_unpacked_bytes: int = Field(8 * 1024**3, ge=1024)
    max_archive_files: int = Field(500_000, ge=1)
    # Where runs' engines live (docs/deployment.md): "local" spawns worker processes
    # on this machine (the default); "ray" places each run in an actor on a Ray cluster.
    executor: Literal["local", "ray"] = "local"
    ray_address: str = "auto"  # "auto" (a cluster started here) | "ray://host:10001"
    ray_num_cpus: float = Field(1.0, gt=0)  # CPUs Ray reserves per run
    ray_num_gpus: float = Field(0.0, ge=0)  # GPUs per run (1: only GPU nodes take it)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        return None if value == "" else value  # UNLEARNSCOPE_TOKEN= (empty): not set

    @property
    def cache_dir(self) -> Path:
        # backdoored models (safetensors), decoded data sets
        return self.cache_root or self.home / "cache"

    @property
    def data_root(self) -> Path:
        """Where relative model and data paths of a run are looked up: the data
        directory, else `home`/data."""
        return self.data_dir or self.home / "data"

    @property
    def uploads_dir(self) -> Path:
        """Uploaded files, each under the first 16 hex digits of its sha256."""
        return self.data_root / "uploads"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"  # per-run final models and exports

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'unlearnscope.db'}"
