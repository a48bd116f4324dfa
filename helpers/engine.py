"""Connecting to the Docker engine: one clear error when none answers, and what the engine is."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from functools import lru_cache

import docker
from docker.errors import DockerException

from .errors import EngineUnavailable

_START_HINT = (
    "start Docker (Docker Desktop on macOS/Windows; on Linux `sudo systemctl start docker`, or as root "
    "on Debian `bash scripts/engine-up.sh`), check it with `docker info`, then run this again. "
    "No Docker at all (e.g. on Binder)? The lessons show recorded results instead."
)


def _connect() -> docker.DockerClient:
    """Open a client and make one call, so a dead engine fails here and not mid-lesson."""
    try:
        # A short timeout to find out whether anyone answers, then a long one for builds.
        probe = docker.from_env(timeout=5)
        try:
            probe.ping()
        finally:
            probe.close()
        client = docker.from_env(timeout=int(os.environ.get("KIT_DOCKER_TIMEOUT", "900")))
        return client
    except DockerException as exc:
        where = os.environ.get("DOCKER_HOST") or "the default socket (unix:///var/run/docker.sock)"
        reason = str(exc).splitlines()[0][:300]
        raise EngineUnavailable(
            f"No Docker engine answered at {where}.",
            _START_HINT,
            detail=f"docker-py said: {reason}",
        ) from None


@lru_cache(maxsize=1)
def _cached_client(docker_host: str | None) -> docker.DockerClient:
    return _connect()


def client() -> docker.DockerClient:
    """Return a connected Docker client, or raise EngineUnavailable with what to do."""
    return _cached_client(os.environ.get("DOCKER_HOST"))


def available() -> bool:
    """Say whether a Docker engine answers right now."""
    try:
        client()
        return True
    except EngineUnavailable:
        _cached_client.cache_clear()
        return False


@dataclass
class EngineInfo:
    """Describe the engine the kit talks to: version, API, architecture, free disk."""

    version: str
    api_version: str
    arch: str
    os: str
    storage_driver: str
    free_gb: float | None

    @property
    def arch_plain(self) -> str:
        """Say which machines this engine's images are for, in words."""
        return {
            "amd64": "amd64 (Intel/AMD 64-bit PCs and most servers)",
            "x86_64": "amd64 (Intel/AMD 64-bit PCs and most servers)",
            "arm64": "arm64 (Apple Silicon Macs, Raspberry Pi 4/5, Graviton servers)",
            "aarch64": "arm64 (Apple Silicon Macs, Raspberry Pi 4/5, Graviton servers)",
        }.get(self.arch, self.arch)


def info() -> EngineInfo:
    """Return the engine's version, architecture and free disk."""
    c = client()
    v = c.version()
    i = c.info()
    root = i.get("DockerRootDir") or "/var/lib/docker"
    free = None
    if os.path.isdir(root):
        free = round(shutil.disk_usage(root).free / 1e9, 1)
    return EngineInfo(
        version=v.get("Version", "?"),
        api_version=v.get("ApiVersion", "?"),
        arch=v.get("Arch", "?"),
        os=v.get("Os", "?"),
        storage_driver=i.get("Driver", "?"),
        free_gb=free,
    )
