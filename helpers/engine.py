"""Connecting to the Docker engine: one clear error when none answers, and what the engine is."""

from __future__ import annotations

import os
import shutil
from contextlib import ContextDecorator
from dataclasses import dataclass
from functools import lru_cache

import docker
import requests
import urllib3
from docker.errors import APIError, DockerException

from .errors import EngineUnavailable, KitError

_START_HINT = (
    "start Docker (Docker Desktop on macOS/Windows; on Linux `sudo systemctl start docker`, or as root "
    "on Debian `bash scripts/engine-up.sh`), check it with `docker info`, then run this again. "
    "No Docker at all (e.g. on Binder)? The lessons show recorded results instead."
)


def _ping() -> None:
    """Ask the engine for a ping with a short timeout; raise what docker-py raises when none answers."""
    probe = docker.from_env(timeout=5)
    try:
        probe.ping()
    finally:
        probe.close()


def _connect() -> docker.DockerClient:
    """Open a client and make one call, so a dead engine fails here and not mid-lesson."""
    try:
        _ping()  # a short timeout to find out whether anyone answers, then a long one for builds
        return docker.from_env(timeout=int(os.environ.get("KIT_DOCKER_TIMEOUT", "900")))
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
    """Say whether a Docker engine answers right now (asked anew each time: engines stop and start)."""
    try:
        _ping()
        return True
    except (DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError):
        _cached_client.cache_clear()
        return False


_GONE = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, urllib3.exceptions.ProtocolError,
         urllib3.exceptions.ReadTimeoutError, ConnectionError)


def translate(exc: BaseException, doing: str) -> KitError:
    """Turn an exception from talking to the engine into the kit's one clear error (the one place that does)."""
    if isinstance(exc, KitError):
        return exc
    reason = str(getattr(exc, "explanation", None) or exc).strip().splitlines()[0][:300] if str(exc) else type(exc).__name__
    if isinstance(exc, _GONE) or (isinstance(exc, DockerException) and not isinstance(exc, APIError)):
        _cached_client.cache_clear()  # ask anew next time: the engine may come back
        return EngineUnavailable(
            f"The Docker engine stopped answering while {doing}.",
            "check that Docker still runs (`docker info`) and restart it if not; then run this again. "
            "`python -m helpers clean` removes what an interrupted build or run left behind.",
            detail=f"the connection said: {reason}",
        )
    return EngineUnavailable(f"The Docker engine refused {doing}.", "read the engine's answer below.",
                             detail=f"the engine said: {reason}")


class guarded(ContextDecorator):  # noqa: N801 - used as a decorator and a `with`, like contextlib's
    """Turn whatever the engine's client raises inside into the kit's one clear error."""

    def __init__(self, doing: str) -> None:
        self.doing = doing

    def __enter__(self) -> guarded:
        return self

    def __exit__(self, etype: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, (KitError, KeyboardInterrupt)) or not isinstance(exc, Exception):
            return False
        if isinstance(exc, (DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
            raise translate(exc, self.doing) from None
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
