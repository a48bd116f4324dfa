"""BuildKit, the builder of every Docker since 23.0, through the Docker CLI (docker-py has none).

docker-py cannot build with BuildKit (its issue 2230 is open), so this builder runs the Docker CLI:
``docker buildx build --load`` where the CLI has buildx, else a CLI older than 23.0 with BuildKit
built in (``DOCKER_BUILDKIT=1 docker build``, as Debian 12's own ``/usr/bin/docker``). It reads the
CLI's progress as it comes: BuildKit's own status objects (``--progress=rawjson``) where buildx gives
them, else the plain lines (the seed's ``#8 [build 4/6] RUN go mod download``, ``#8 CACHED``,
``#8 DONE 0.2s``), and returns the same ``RawBuild`` as the classic builder. The objects are turned
into the plain lines they stand for, so that both are read by one reader and logged alike. The CLI
is chosen over a library because the CLI is what learners type, and it is what keeps up with BuildKit.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from docker.errors import NotFound

from . import engine
from .builders import BuildRequest, RawBuild, build_error, interrupted, timed_out
from .commands import build_args
from .errors import EngineUnavailable, KitError
from .progress import Progress

_HEADER = re.compile(r"^#(\d+) \[(?:([^\]]+?) )?(\d+)/(\d+)\] (.*)$")  # #8 [build 4/6] RUN go mod download
_OTHER = re.compile(r"^#(\d+) (\[[^\]]*\] )?(.*)$")
_STATUS = re.compile(r"^#(\d+) (CACHED|DONE [\d.]+s|ERROR: .*|CANCELED)$")
_OUTPUT = re.compile(r"^#(\d+) \d+\.\d+ (.*)$")  # #8 0.219 go: no module dependencies to download


_LOGGED_STEP = re.compile(r"^\[(?:[^\]]+ )?\d+/\d+\] ")  # "[build 4/6] RUN go mod download", as the log keeps it
_LOGGED_STATUS = re.compile(r": (CACHED|DONE [\d.]+s|CANCELED|ERROR: .*)$")


def is_step_header(line: str) -> bool:
    """Say whether a BuildKit build's log line (as this builder logs it) starts a step, not its outcome."""
    return bool(_LOGGED_STEP.match(line)) and not _LOGGED_STATUS.search(line)


@dataclass(frozen=True)
class Cli:
    """A Docker CLI that can build with BuildKit: the command to start, and the environment it needs."""

    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    why: str
    progress: str = "plain"  # "rawjson" where the CLI gives BuildKit's status objects (buildx 0.12 and later)


def _client_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True,
                         timeout=20).stdout.strip()
    return tuple(int(x) for x in re.findall(r"\d+", out)[:2]) or (0,)


@lru_cache(maxsize=1)
def find_cli() -> Cli | None:
    """Return a Docker CLI that builds with BuildKit here, or None (then only the classic builder builds)."""
    binaries = [b for b in dict.fromkeys([shutil.which("docker"), "/usr/bin/docker", "/usr/local/bin/docker"])
                if b and os.access(b, os.X_OK)]
    for b in binaries:
        buildx = subprocess.run([b, "buildx", "version"], capture_output=True, text=True, timeout=20)
        if buildx.returncode == 0:  # "github.com/docker/buildx 0.13.1+ds1 ..."
            m = re.search(r" v?(\d+)\.(\d+)", buildx.stdout)
            version = (int(m[1]), int(m[2])) if m else (0, 0)
            # No provenance attestation: it records the build's time, so every cached rebuild would be a new
            # image (a new ID, the old one left untagged) on the containerd image store (Docker 26, measured).
            # rawjson came with buildx 0.12 (its --help does not list it).
            return Cli((b, "buildx", "build", "--load", "--provenance=false"), (),
                       f"{b} with buildx {'.'.join(map(str, version))}", "rawjson" if version >= (0, 12) else "plain")
    for b in binaries:
        if (18, 9) <= _client_version(b) < (23,):  # BuildKit built in, switched on by DOCKER_BUILDKIT=1
            return Cli((b, "build"), (("DOCKER_BUILDKIT", "1"),), f"{b} {'.'.join(map(str, _client_version(b)))}"
                       " with BuildKit built in")
    return None


def default_choice() -> tuple[str, str]:
    """Return the builder a build that names none gets, "buildkit" or "classic", and why, in a few words.

    BuildKit where this engine and a Docker CLI have it, as a learner's `docker build` has built since
    Docker 23; the classic builder where not. ``KIT_BUILDER=classic`` (or ``buildkit``) chooses for every build.
    """
    asked = os.environ.get("KIT_BUILDER", "")
    if asked in ("classic", "buildkit"):
        return asked, f"KIT_BUILDER={asked} asks for it"
    if asked:
        raise KitError(f"KIT_BUILDER={asked} names no builder.", "set KIT_BUILDER to classic or buildkit, or unset it.")
    if engine.is_podman():
        return "classic", "Podman has no BuildKit: its own builder, Buildah, builds through the Docker API"
    cli = find_cli()
    if cli is None:
        return "classic", "no Docker CLI with buildx here, nor one with BuildKit built in (Debian: docker-buildx)"
    return "buildkit", f"through {cli.why}, as `docker build` builds since Docker 23"


class BuildKitBuilder:
    """Build with BuildKit through the Docker CLI, reading its plain progress as it streams."""

    name = "buildkit"

    def typed(self) -> list[str]:
        """Return the command this machine's CLI builds with BuildKit by, as a learner types it.

        ``docker buildx build --load --provenance=false``, or ``DOCKER_BUILDKIT=1 docker build`` for a CLI
        with BuildKit built in; the CLI's whole path where it is not the ``docker`` on PATH.
        """
        cli = find_cli()
        if cli is None:
            return ["docker", "buildx", "build", "--load", "--provenance=false"]
        binary = cli.command[0]
        on_path = shutil.which("docker")
        name = "docker" if on_path and os.path.realpath(on_path) == os.path.realpath(binary) else binary
        return [*(f"{k}={v}" for k, v in cli.env), name, *cli.command[1:]]

    def build(self, request: BuildRequest, progress: Progress) -> RawBuild:
        """Run the CLI's build; turn its steps into progress and its failure into the kit's error."""
        if engine.is_podman():
            raise KitError("BuildKit builds need a Docker engine: this engine is Podman, which has no BuildKit.",
                           "build with builder='classic' (the default: Podman builds it with its own builder, "
                           "Buildah), or point DOCKER_HOST at a Docker engine.")
        cli = find_cli()
        if cli is None:
            raise KitError("BuildKit is not available here: no Docker CLI with buildx, nor one with it built in.",
                           "install the buildx plugin (Debian: docker-buildx), or build with builder='classic'.")
        with tempfile.TemporaryDirectory(prefix="kit-bk-") as tmp:
            iidfile = Path(tmp) / "iid"
            cmd = [*cli.command, f"--progress={cli.progress}", "--iidfile", str(iidfile),
                   *build_args(request, lambda p: str(Path(p).resolve()))]
            env = {**os.environ, **dict(cli.env), "DOCKER_HOST": engine.endpoint().url}
            log, seconds = self._run(cmd, env, request, progress, RawJson() if cli.progress == "rawjson" else None)
            image_id = iidfile.read_text().strip() if iidfile.is_file() else ""
        return RawBuild(image_id=_image_id(image_id, request.tag), log=log, seconds=seconds, stage_ids=[])

    def _run(self, cmd: list[str], env: dict[str, str], request: BuildRequest, progress: Progress,
             rawjson: RawJson | None = None) -> tuple[list[str], float]:
        """Run the CLI, reading its lines (through ``rawjson`` for BuildKit's status objects); bound it, and
        stop it on Ctrl-C or "Interrupt kernel"."""
        started = time.monotonic()
        steps: dict[str, str] = {}  # vertex number -> "[build 4/6] RUN go mod download"
        state = {"step": "before the first step", "error": "", "timed_out": ""}
        log: list[str] = []
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)  # its own group: a Ctrl-C reaches it through us

        def over_the_bound() -> None:  # a silent step prints nothing: a timer, not the read loop, stops it
            state["timed_out"] = "yes"
            _interrupt(proc)

        timer = threading.Timer(request.timeout, over_the_bound)
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                for line in rawjson.lines(raw) if rawjson else [raw]:
                    self._take(line.rstrip("\n"), steps, state, log, progress)
            proc.wait()
        except KeyboardInterrupt:
            raise _stop(proc, progress, state, interrupted(request, state["step"])) from None
        finally:
            timer.cancel()
        if state["timed_out"]:
            raise _stop(proc, progress, state, timed_out(request, state["step"]))
        seconds = time.monotonic() - started
        if proc.returncode != 0:
            text = "\n".join(log)
            if "Cannot connect to the Docker daemon" in text or "error during connect" in text or not engine.available():
                error: KitError = EngineUnavailable(
                    f"The Docker engine stopped answering while building {request.tag}.",
                    "check that Docker still runs (`docker info`); then run this again.", detail=log[-1] if log else "")
            else:
                error = build_error(request, state["error"] or (log[-1] if log else "the build failed"), log)
            progress.close(False, f"stopped at {state['step']}: {error.what}")
            raise error
        cached = sum(1 for x in log if x.endswith(": CACHED"))
        progress.close(True, f"{request.tag} in {seconds:.1f} s: FINISHED, {len(steps)} steps, {cached} cached")
        return log, seconds

    @staticmethod
    def _take(line: str, steps: dict[str, str], state: dict[str, str], log: list[str], progress: Progress) -> None:
        """Take one line of the CLI's plain progress."""
        if not line.strip():
            return
        m = _HEADER.match(line)
        if m:
            number, stage, i, n, instruction = m.groups()
            steps[number] = f"[{stage + ' ' if stage else ''}{i}/{n}] {instruction}"
            state["step"] = f"step {steps[number]}"
            progress.step(int(i), int(n), f"[{stage}] {instruction}" if stage else instruction)
            log.append(steps[number])
            return
        s = _STATUS.match(line)
        if s:
            number, status = s.groups()
            what = steps.get(number, f"#{number}")
            if status.startswith("ERROR: "):
                state["error"] = status.removeprefix("ERROR: ")
            log.append(f"{what}: {status}")
            h = _HEADER.match(f"#{number} {what}")
            if h and not status.startswith("ERROR"):  # the step again, now with CACHED or its time
                progress.step(int(h[3]), int(h[4]), f"{'[' + h[2] + '] ' if h[2] else ''}{h[5]}: {status}")
            return
        o = _OUTPUT.match(line)
        if o:
            log.append(o[2])  # the step's own output, as the classic builder logs it (compiler lines)
            progress.line(o[2])
            return
        if line.startswith("ERROR:") or line.startswith("error:"):
            state["error"] = state["error"] or line.split(":", 1)[1].strip()
        if not re.match(r"^#\d+ sha256:[0-9a-f]+$", line):
            log.append(line)
            progress.line(line)


class RawJson:
    """Turn the CLI's ``--progress=rawjson`` into the plain lines it stands for, one line of output at a time.

    buildx prints BuildKit's status objects, pretty-printed one after another, then plain text (on a
    failure: the Dockerfile's lines around the step, and ``ERROR: ...``). A vertex is a step
    (``[build 4/6] RUN go mod download``) or the build's own work (``[internal] load build context``);
    it is numbered as ``--progress=plain`` numbers it, in the order it starts, and becomes its header
    line, then ``CACHED``, ``DONE 1.2s`` (its completed minus started) or ``ERROR: ...``; its output
    (``logs``, base64) becomes ``#N 0.000 text`` lines. Transfer statuses and warnings are left out.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._numbers: dict[str, int] = {}  # vertex digest -> its number
        self._ended: set[str] = set()

    def lines(self, raw: str) -> list[str]:
        """Take one line of the CLI's output; return the plain lines it completes (often none)."""
        if not self._buffer and not raw.startswith("{"):
            return [raw]
        self._buffer += raw
        try:
            status = json.loads(self._buffer)
        except json.JSONDecodeError:
            return []  # the object goes on
        self._buffer = ""
        return self.plain(status)

    def plain(self, status: dict) -> list[str]:
        """Return the plain lines one status object stands for."""
        out = []
        for v in status.get("vertexes") or []:
            digest = v.get("digest", "")
            if not v.get("started"):
                continue  # announced, not begun: plain output shows a step when it starts
            if digest not in self._numbers:
                self._numbers[digest] = len(self._numbers) + 1
                out.append(f"#{self._numbers[digest]} {v.get('name', '')}")
            n = self._numbers[digest]
            if v.get("error") and digest not in self._ended:
                self._ended.add(digest)
                out.append(f"#{n} ERROR: {v['error']}")
            elif v.get("completed") and digest not in self._ended:
                self._ended.add(digest)
                seconds = _seconds(v["completed"]) - _seconds(v.get("started") or v["completed"])
                out.append(f"#{n} CACHED" if v.get("cached") else f"#{n} DONE {seconds:.1f}s")
            elif not v.get("completed"):
                self._ended.discard(digest)  # started again (BuildKit does, for its own work)
        for entry in status.get("logs") or []:
            n = self._numbers.get(entry.get("vertex", ""), 0)
            text = base64.b64decode(entry.get("data") or "").decode(errors="replace")
            out += [f"#{n} 0.000 {x}" for x in text.splitlines() if x.strip()]
        return out


def _seconds(stamp: str) -> float:
    """Return an RFC 3339 time (BuildKit's, to the nanosecond) as seconds since the epoch."""
    whole, _, rest = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (rest or "0"))


def _image_id(iid: str, tag: str) -> str:
    """Return the ID the engine knows the built image by.

    buildx writes the image's config digest to --iidfile when the image has no attestation: that is the
    image ID on the classic store, but on the containerd image store the ID is the manifest's digest,
    and the engine knows no image by the config digest. The tag the build just set names it on both.
    """
    with engine.guarded(f"looking up the image just built ({tag})"):
        images = engine.client().images
        try:
            return images.get(iid).id if iid else images.get(tag).id
        except NotFound:
            return images.get(tag).id


def _interrupt(proc: subprocess.Popen) -> None:
    """Stop the CLI as Ctrl-C would: it then cancels the build on the engine."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        proc.kill()
        proc.wait(timeout=15)


def _stop(proc: subprocess.Popen, progress: Progress, state: dict[str, str], error: KitError) -> KitError:
    """Stop the CLI (if it still runs) and mark the bar as stopped at the step it was on."""
    if proc.poll() is None:
        _interrupt(proc)
    progress.close(False, f"stopped at {state['step']}: {error.what}")
    return error
