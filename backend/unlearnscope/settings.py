"""Server and tool settings: one pydantic-settings class, env prefix UNLEARNSCOPE_."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    demo_preset: str = "demo"  # preset the page's form opens with

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"  # backdoored models (safetensors), decoded data sets

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"  # per-run final models and exports

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.home / 'unlearnscope.db'}"
