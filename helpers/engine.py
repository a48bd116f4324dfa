"""Connecting to the Docker engine: where it is, why it does not answer, and what it is.

The engine is where DOCKER_HOST says, else where the current Docker context says (Docker Desktop's
way), else the default socket. When it does not answer, ``diagnose`` says why in one message: no
engine there (the lessons then show the recording), or one that refuses this user, this client or
this address (an error with its fix, never a quiet switch to the recording).
"""

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

from .errors import EngineRefused, EngineUnavailable, KitError

_START_HINT = (
    "start Docker (Docker Desktop on macOS/Windows; on Linux `sudo systemctl start docker`, or as root "
    "on Debian `bash scripts/engine-up.sh`), check it with `docker info`, then run this again. "
    "No Docker at all (e.g. on Binder)? The lessons show recorded results instead."
)
DEFAULT_SOCKET = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class Endpoint:
    """Where the kit reaches the engine, and who said so (DOCKER_HOST, a Docker context, the default)."""

    url: str
    said_by: str
    tls: object = None  # a docker.tls.TLSConfig from a Docker context, if it has one

    @property
    def is_local(self) -> bool:
        """Say whether the engine is on this machine (a unix socket or a Windows named pipe)."""
        return self.url.startswith(("unix://", "npipe://"))

    @property
    def published_host(self) -> str:
        """Return the address where this engine publishes containers' ports."""
        if self.is_local:
            return "127.0.0.1"
        parsed = urllib3.util.parse_url(self.url)
        return parsed.host or "127.0.0.1"


def endpoint() -> Endpoint:
    """Return where the engine is: DOCKER_HOST, else the current Docker context, else the default socket."""
    host = os.environ.get("DOCKER_HOST", "").strip()
    if host:
        return Endpoint(host, "DOCKER_HOST")
    try:
        from docker.context import ContextAPI

        ctx = ContextAPI.get_current_context()
        if ctx is not None and ctx.Name != "default" and ctx.Host:
            return Endpoint(ctx.Host, f"the Docker context '{ctx.Name}'", ctx.TLSConfig)
    except Exception:  # noqa: BLE001 - a broken context file: fall back to the default socket
        pass
    return Endpoint(DEFAULT_SOCKET, "the default socket")


def _new_client(ep: Endpoint, timeout: int) -> docker.DockerClient:
    if ep.said_by == "DOCKER_HOST":
        return docker.from_env(timeout=timeout)  # also reads DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
    return docker.DockerClient(base_url=ep.url, timeout=timeout, tls=ep.tls or False)


def diagnose(exc: BaseException, ep: Endpoint) -> EngineUnavailable:
    """Say why the engine at ``ep`` did not answer: none there, or one that refuses (and the fix)."""
    text = f"{exc!r} {exc}"
    reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    where = f"{ep.url} (from {ep.said_by})"
    if "Permission denied" in text or "PermissionError" in text:
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "this user"
        return EngineRefused(
            f"A Docker engine runs at {where}, but {user} may not use its socket.",
            "add yourself to the docker group (`sudo usermod -aG docker $USER`, then log out and back in), "
            "or use rootless Docker (dockerd-rootless-setuptool.sh install); then run this again.",
            detail=f"the socket said: {reason}")
    if isinstance(exc, APIError) and "version" in text.lower() and ("too new" in text or "too old" in text
                                                                   or "not supported" in text):
        return EngineRefused(
            f"The Docker engine at {where} refuses this client's API version.",
            "let the client agree a version with the engine (unset DOCKER_API_VERSION), or upgrade Docker.",
            detail=f"the engine said: {reason}")
    if "Invalid bind address" in text or "not a valid" in text.lower() or "URLSchemeUnknown" in text:
        return EngineRefused(
            f"{ep.said_by} names an address the Docker client cannot use: {ep.url}",
            "fix it (e.g. unix:///var/run/docker.sock, tcp://HOST:2375, ssh://USER@HOST), or unset DOCKER_HOST "
            "/ switch context (`docker context use default`); `docker context ls` lists the contexts.",
            detail=f"docker-py said: {reason}")
    if not ep.is_local:
        return EngineRefused(
            f"The remote Docker engine at {where} does not answer.",
            "check that the host is up and reachable from here, that its engine listens on that port, and that "
            "DOCKER_HOST or the Docker context names the right host (`docker context ls`).",
            detail=f"the connection said: {reason}")
    return EngineUnavailable(f"No Docker engine answered at {where}.", _START_HINT, detail=f"docker-py said: {reason}")


def probe() -> EngineUnavailable | None:
    """Ask the engine for a ping with a short timeout: None if it answers, else why it does not."""
    ep = endpoint()
    try:
        c = _new_client(ep, timeout=5)
        try:
            c.ping()
        finally:
            c.close()
        return None
    except (DockerException, requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        return diagnose(exc, ep)


@lru_cache(maxsize=1)
def _cached_client(where: Endpoint) -> docker.DockerClient:
    problem = probe()  # one short call first, so a dead engine fails here and not mid-lesson
    if problem is not None:
        raise problem
    return _new_client(where, timeout=int(os.environ.get("KIT_DOCKER_TIMEOUT", "900")))


def client() -> docker.DockerClient:
    """Return a connected Docker client, or raise why there is none (EngineUnavailable, EngineRefused)."""
    return _cached_client(endpoint())


def available() -> bool:
    """Say whether a Docker engine answers right now (asked anew each time: engines stop and start)."""
    if probe() is None:
        return True
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
    free_gb: float | None  # None where the engine's disk cannot be seen from here (a remote engine)
    host: str = "this machine"
    image_store: str = "classic"  # "containerd": the containerd image store (Docker 29 fresh installs, Desktop)
    product: str = "Docker"  # "Docker", or "Podman" behind its Docker-compatible API

    @property
    def is_podman(self) -> bool:
        """Say whether the engine is Podman (its Docker-compatible API), not Docker itself."""
        return self.product == "Podman"

    @property
    def title(self) -> str:
        """Name the engine as a learner would: "Docker 20.10.24", "Podman 4.3.1 (Docker-compatible API)"."""
        if self.is_podman:
            return f"Podman {self.version} (its Docker-compatible API {self.api_version})"
        return f"Docker {self.version} (API {self.api_version})"

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
    if endpoint().is_local and os.path.isdir(root):  # the engine's own disk: only seen from its machine
        free = round(shutil.disk_usage(root).free / 1e9, 1)
    return EngineInfo(
        product=product_of(v),
        version=v.get("Version", "?"),
        api_version=v.get("ApiVersion", "?"),
        arch=v.get("Arch", "?"),
        os=v.get("Os", "?"),
        storage_driver=i.get("Driver", "?"),
        free_gb=free,
        host="this machine" if endpoint().is_local else endpoint().published_host,
        image_store=image_store_of(i),
    )


def image_store_of(info: dict) -> str:
    """Say which image store an engine's `docker info` describes: "containerd" or "classic" (graph drivers).

    The containerd image store shows as a storage driver whose status says
    ``driver-type: io.containerd.snapshotter.v1``; it measures, saves and caches images differently.
    """
    status = info.get("DriverStatus") or []
    snapshotter = any(pair[:2] == ["driver-type", "io.containerd.snapshotter.v1"] for pair in status if pair)
    return "containerd" if snapshotter else "classic"


def product_of(version: dict) -> str:
    """Say which engine answered ``GET /version``: "Podman" (it names a "Podman Engine" component), else "Docker"."""
    names = [str(c.get("Name", "")) for c in version.get("Components") or [] if isinstance(c, dict)]
    platform = str((version.get("Platform") or {}).get("Name", ""))
    return "Podman" if any(n.startswith("Podman") for n in names) or "podman" in platform.lower() else "Docker"


def is_podman() -> bool:
    """Say whether the engine the kit talks to is Podman (asked once per engine address)."""
    return _product(endpoint()) == "Podman"


@lru_cache(maxsize=4)
def _product(where: Endpoint) -> str:
    with guarded("asking the engine what it is"):
        return product_of(client().version())
