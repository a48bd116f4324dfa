"""Running a built image: a container on a free host port, probed over HTTP, always cleaned up.

    with RunningApp("cms-daq-workshop-multistage:latest") as app:
        print(app.greeting())          # Hello CMS DAQ Group!
"""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from types import TracebackType

from docker.errors import APIError, ImageNotFound, NotFound
from docker.models.containers import Container

from . import engine
from .commands import run_command
from .engine import guarded
from .errors import BaseImageMissing, ContainerFailed, PortInUse
from .labels import container_name, kit_labels
from .results import BuildResult

APP_PORT = "8080/tcp"


def port_is_free(port: int) -> bool:
    """Say whether nothing on this machine listens on this TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


class RunningApp:
    """Start a container of an image on a host port, probe it, and stop and remove it on exit."""

    def __init__(self, image: str | BuildResult, host_port: int | None = None, ready_timeout: float = 20.0) -> None:
        self.image = image.tag if isinstance(image, BuildResult) else image
        self.host_port = host_port
        self.ready_timeout = ready_timeout
        self.container: Container | None = None
        self.name = container_name()
        self.stop_seconds: float | None = None
        self.host = "127.0.0.1"

    # -- life cycle ---------------------------------------------------------------------------
    @guarded("starting a container")
    def start(self) -> RunningApp:
        """Create and start the container, then wait until the app answers on /healthz."""
        client = engine.client()
        self.host = engine.endpoint().published_host  # 127.0.0.1, or the remote engine's host
        if self.host_port is not None and engine.endpoint().is_local and not port_is_free(self.host_port):
            raise PortInUse(
                f"Port {self.host_port} on this machine is already in use, so the container cannot publish 8080 there.",
                "pick another port (e.g. host_port=None lets Docker choose a free one), or stop the program "
                f"using it (`ss -ltnp | grep :{self.host_port}` shows which).",
            )
        try:
            self.container = client.containers.create(
                self.image,
                name=self.name,
                detach=True,
                ports={APP_PORT: self.host_port},
                labels=kit_labels("container"),
            )
        except ImageNotFound:
            raise BaseImageMissing(
                f"There is no image {self.image} on this engine.",
                "build it first (helpers.build(...)), or check the name with `docker image ls`.",
            ) from None
        try:
            self.container.start()
        except APIError as exc:
            self.remove()
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise PortInUse(
                    f"Port {self.host_port} is already taken, so the container could not start.",
                    "pick another port, or let Docker choose one (host_port=None).",
                    detail=text,
                ) from None
            raise ContainerFailed(f"The container of {self.image} did not start.", _start_hint(text), text) from None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = ""
        while time.monotonic() < deadline:
            self.container.reload()
            if self.container.status in ("exited", "dead"):  # checked first: an exited container has no ports
                logs = self.container.logs(tail=15).decode(errors="replace")
                raise ContainerFailed(
                    f"The container of {self.image} exited (code {self.container.attrs['State']['ExitCode']}) before it answered.",
                    "read its last log lines below; a binary built for another OS or with cgo will not start in scratch.",
                    detail=logs,
                )
            bindings = self.container.ports.get(APP_PORT) or []
            if not bindings:
                time.sleep(0.2)
                continue
            self.host_port = int(bindings[0]["HostPort"])
            try:
                self.get("/healthz", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = str(exc)
                time.sleep(0.2)
        raise ContainerFailed(
            f"The container of {self.image} did not answer at {self.url} within {self.ready_timeout:.0f} s.",
            "check that the app listens on 8080 inside the container (EXPOSE does not make it listen).",
            detail=last,
        )

    def stop(self) -> None:
        """Stop the container (timing how long it takes) and remove it."""
        if self.container is None:
            return
        started = time.monotonic()
        try:
            self.container.stop(timeout=10)
            self.stop_seconds = time.monotonic() - started
        except (APIError, NotFound):
            pass
        self.remove()

    def remove(self) -> None:
        """Remove the container, whatever state it is in."""
        if self.container is None:
            return
        try:
            self.container.remove(force=True)
        except (APIError, NotFound):
            pass
        self.container = None

    def __enter__(self) -> RunningApp:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- talking to it -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Return the app's address: on this machine, or on the remote engine's host."""
        return f"http://{self.host}:{self.host_port}"

    @property
    def command(self) -> str:
        """Return the `docker run` this container stands for (with the port it really got)."""
        return run_command(self.image, self.name, self.host_port)

    def get(self, path: str = "/", timeout: float = 5) -> str:
        """Send GET to the app and return the body as text."""
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return resp.read().decode()

    def greeting(self) -> str:
        """Return what the app answers on / (the workshop's greeting)."""
        return self.get("/")

    def process_uids(self) -> list[str]:
        """Return the user ids the container's processes run as (seen from the host).

        Docker runs the host's ps(1) with ``-o uid``. Podman reads the processes itself only for ps's
        AIX descriptors (for anything else it runs ps(1) inside the container, which an image FROM
        scratch does not have, and answers an empty body); its ``huser`` is the host's user: a number,
        or the host account's name ("root" for uid 0).
        """
        with guarded(f"listing the processes of {self.name}"):
            if engine.is_podman():
                top = self.container.top(ps_args="huser,pid,comm")
                return [_uid_of(row[top["Titles"].index("HUSER")]) for row in top["Processes"]]
            try:
                top = self.container.top(ps_args="-o uid,pid,comm")
            except APIError as exc:  # `docker top` runs `ps` on the engine's host: one without ps refuses
                raise ContainerFailed(
                    f"The engine could not list the processes of {self.name} (`docker top`), so their user is unknown.",
                    "`docker top` runs `ps` on the engine's host: install it there (Debian: procps), or read the "
                    f"image's user with `docker image inspect --format '{{{{.Config.User}}}}' {self.image}`.",
                    detail=str(exc.explanation or exc),
                ) from None
            return [row[top["Titles"].index("UID")] for row in top["Processes"]]


def _uid_of(user: str) -> str:
    """Return a host user's id from its name (as Podman's top names it), or the number it already is."""
    if user.isdigit():
        return user
    try:
        import pwd  # Unix only: Podman's engine runs on Linux

        return str(pwd.getpwnam(user).pw_uid)
    except (ImportError, KeyError):
        return user


def _start_hint(engine_said: str) -> str:
    """Say what to do about a container the engine could not start, from the engine's reason."""
    said = engine_said.lower()
    if "rootless netns" in said or "slirp4netns" in said or "/dev/net/tun" in said:
        return ("the engine could not give the container a network: rootless Podman's networking failed, "
                "not the image. Give its user slirp4netns (`netns = \"slirp4netns\"` under [containers] in "
                "~/.config/containers/containers.conf) and a /dev/net/tun it may open (mode 0666), as "
                "scripts/engine-podman-rootless.sh does; then run this again.")
    if "/bin/sh" in engine_said and ("no such file" in engine_said or "not found" in engine_said):
        return ("the image has no shell (/bin/sh), so a shell-form CMD or ENTRYPOINT cannot run: use the exec "
                'form, a JSON list such as ENTRYPOINT ["/cms-daq-simple-app"].')
    if "no such file" in engine_said or "not found" in engine_said:
        return "the program the image starts is not in it: check the path in ENTRYPOINT/CMD and the COPY that puts it there."
    if "setting rlimit" in engine_said:  # Podman's default limits are above what this machine lets it set
        return ("the engine could not give the container its resource limits (open files, processes): this "
                "machine allows fewer. Podman: set default_ulimits in containers.conf to this machine's "
                "(`ulimit -Hn`, `ulimit -Hu`), as scripts/engine-podman.sh does; then run this again.")
    if "permission denied" in engine_said:
        return "the program cannot be run by the image's USER: check its file mode (chmod +x) and owner."
    return "read the engine's answer below."
