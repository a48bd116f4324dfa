"""Builders: what turns a Dockerfile and a context into an image on the engine, behind one interface.

A ``Builder`` takes a ``BuildRequest`` (Dockerfile, context, tag, build args, labels, target) and a
``Progress`` to report to, and returns a ``RawBuild`` (image id, log, seconds, earlier stages) or
raises a kit error. The build journey (``builds.py``) does everything around it: which bases, which
tag, tagging stages, the ``BuildResult``. So a second builder (BuildKit, through the CLI) only has
to implement ``build``.

``ClassicBuilder`` is the engine's classic builder through docker-py. docker-py's high-level
``images.build()`` reads the whole log before it returns, so it streams the low-level
``api.build(decode=True)``: each chunk carries a ``stream`` line, an ``aux`` with the image id, or an
``error`` that becomes one BuildFailed with the useful tail of the log.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import requests
import urllib3
from docker import utils as docker_utils
from docker.errors import APIError

from . import engine, store
from .dockerfile import with_labels
from .errors import BaseImageMissing, BuildFailed, BuildInterrupted, BuildTimedOut, KitError
from .progress import Progress

#: The classic builder's step lines: "Step 3/10 : COPY go.mod go.sum* ./".
STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
#: Podman's builder (Buildah) behind the same API counts steps per stage: "[1/2] STEP 3/6: COPY ...".
BUILDAH_STEP = re.compile(r"^(?:\[(\d+)/(\d+)\] )?STEP (\d+)/(\d+): (.*)$")
#: How long a build the learner stopped on Podman waits for the step Podman still runs (seconds): a `go build`
#: took over 15 s to end on a busy 2-core machine (make test, 2026-12-01), and left its step image behind.
PODMAN_STEP_WAIT = 180.0


def is_step_line(line: str) -> bool:
    """Say whether a classic build's log line starts a step: Docker's "Step 2/9 : ...", Buildah's "[1/2] STEP 2/6: ..."."""
    return bool(STEP.match(line) or BUILDAH_STEP.match(line))


_ARROW = re.compile(r"^ ?-{2,3}> ([0-9a-f]{11,64})$")  # Docker " ---> 1a2b3c4d5e6f", Buildah "--> 1a2b3c4d5e6"
_FULL_ID = re.compile(r"^(?:sha256:)?[0-9a-f]{64}$")  # Buildah ends with the image's id on a line of its own
_GO_ERROR = re.compile(r"(\.go:\d+(:\d+)?: |^# |undefined: |syntax error)")
_BASE_GONE = re.compile(
    r"(pull access denied|repository does not exist|manifest unknown|not found: manifest|"
    r"no such host|dial tcp|i/o timeout|toomanyrequests|invalid reference format)",
    re.I,
)


@dataclass
class BuildRequest:
    """Say what to build: a Dockerfile against a context, under a tag, with args and labels."""

    dockerfile: Path
    context: Path
    tag: str
    buildargs: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    nocache: bool = False
    timeout: float = field(default_factory=lambda: float(os.environ.get("KIT_BUILD_TIMEOUT", "900")))


@dataclass
class RawBuild:
    """Hold what the engine gave back for one successful build."""

    image_id: str
    log: list[str]
    seconds: float
    stage_ids: list[str]  # the last image of every stage but the final one, oldest first


class Builder(Protocol):
    """Build one request on the engine, reporting to ``progress``; raise a KitError when it fails."""

    name: str

    def build(self, request: BuildRequest, progress: Progress) -> RawBuild:
        """Build the request and return what came out."""

    def typed(self) -> list[str]:
        """Return what a learner types before the build's arguments to build the same way in a terminal."""


class ClassicBuilder:
    """The engine's classic builder (``POST /build``), streamed through docker-py."""

    name = "classic"

    def typed(self) -> list[str]:
        """Return `DOCKER_BUILDKIT=0 docker build`: newer CLIs build with BuildKit unless told not to."""
        return ["DOCKER_BUILDKIT=0", "docker", "build"]

    def build(self, request: BuildRequest, progress: Progress) -> RawBuild:
        """Stream the build, turning ``Step N/M`` lines into progress and errors into kit errors.

        The build is bounded by ``request.timeout`` seconds: the engine's stream is read with that
        bound, so a step that hangs silently ends the build too. A build cut short (the bound, Ctrl-C,
        "Interrupt kernel", an engine that stops answering) closes the stream, so the engine cancels
        it, and removes the step images it left.
        """
        log: list[str] = []
        state: dict[str, Any] = {"image_id": "", "last_id": "", "step": "before the first step", "froms": 0,
                                 "stage": 0, "done": 0, "total": 0}
        stage_ids: list[str] = []
        started = time.monotonic()
        stream = None
        context: IO[bytes] | None = None
        try:
            labels: dict[str, str] | None = request.labels
            text = None
            if engine.is_podman() and labels:  # Podman applies sent labels in a random order: write them in
                text = with_labels(Path(request.dockerfile).read_text(), labels, request.target)
                labels = None
            context, dockerfile = build_context(request.context, request.dockerfile, text)
            stream = engine.client().api.build(
                fileobj=context,
                custom_context=True,
                dockerfile=dockerfile,
                tag=request.tag,
                buildargs=request.buildargs,
                labels=labels,
                target=request.target,
                nocache=request.nocache,
                rm=True,
                forcerm=True,  # remove intermediate containers even when a step fails
                decode=True,
                timeout=request.timeout,  # docker-py passes none by default: a silent step would hang for ever
            )
            for chunk in stream:
                self._take(chunk, request, progress, log, state, stage_ids)
                if time.monotonic() - started > request.timeout:
                    raise timed_out(request, state["step"])
        except KeyboardInterrupt:
            raise self._stopped(stream, progress, state, interrupted(request, state["step"])) from None
        except (requests.exceptions.ConnectionError, urllib3.exceptions.ReadTimeoutError,
                requests.exceptions.Timeout) as exc:
            if time.monotonic() - started >= request.timeout - 1 or "timed out" in str(exc).lower():
                raise self._stopped(stream, progress, state, timed_out(request, state["step"])) from None
            raise self._stopped(stream, progress, state, engine.translate(exc, f"building {request.tag}")) from None
        except APIError as exc:
            message = str(exc.explanation or exc)
            log.append(message)
            raise self._stopped(stream, progress, state, build_error(request, message, log)) from None
        except KitError as exc:
            raise self._stopped(stream, progress, state, exc) from None
        except Exception as exc:  # the connection broke in a way requests does not wrap
            raise self._stopped(stream, progress, state, engine.translate(exc, f"building {request.tag}")) from None
        finally:
            if context is not None:
                context.close()
        seconds = time.monotonic() - started
        image_id = state["image_id"] or next(
            (x.split()[-1] for x in reversed(log) if x.startswith("Successfully built ")), "")  # older engines
        progress.close(True, f"{request.tag} in {seconds:.1f} s")
        return RawBuild(image_id=image_id, log=log, seconds=seconds, stage_ids=stage_ids)

    @staticmethod
    def _take(chunk: dict, request: BuildRequest, progress: Progress, log: list[str], state: dict[str, Any],
              stage_ids: list[str]) -> None:
        """Take one chunk of the engine's build stream: a line, the image id, or an error.

        Docker's classic builder numbers steps over the whole Dockerfile ("Step 3/16 : ..."); Podman's
        (Buildah) per stage ("[1/2] STEP 3/6: ..."), so its steps are counted on across stages.
        """
        if "stream" in chunk:
            for text in chunk["stream"].splitlines():
                if not text.strip():
                    continue
                log.append(text)
                step = _step_of(text, state)
                if step is not None:
                    n, total, instruction, stage = step
                    if instruction.upper().startswith("FROM"):
                        if state["froms"] and state["last_id"]:
                            stage_ids.append(state["last_id"])  # the last image of the stage before
                        state["froms"] += 1
                    state["step"] = f"step {n}/{total} ({instruction[:80]})"
                    progress.step(n, total, stage + instruction)
                    continue
                a = _ARROW.match(text)
                if a:
                    state["last_id"] = a[1]
                elif _FULL_ID.match(text.strip()):
                    state["image_id"] = text.strip()
                    continue
                progress.line(text)
        elif "aux" in chunk and "ID" in chunk["aux"]:
            state["image_id"] = chunk["aux"]["ID"]
        elif "error" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            log.append(message)
            raise build_error(request, message, log)

    @staticmethod
    def _stopped(stream: object, progress: Progress, state: dict[str, Any], error: KitError) -> KitError:
        """End a build that did not finish: close the stream, mark the bar, remove its step images.

        Docker cancels the step as the client goes; Podman runs it to its end whatever the client does. For a
        build the learner stopped, the kit waits for that step (at most ``PODMAN_STEP_WAIT`` seconds, the bar
        says so; Ctrl-C again stops waiting), so that nothing is left. A step over the bound may hang for ever:
        it gets the engine's usual moment to let go, and the hint says what to do.
        """
        try:
            getattr(stream, "close", lambda: None)()
            engine.client().api.close()  # drop the connection: the engine sees the client go, and cancels
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass
        podman = _is_podman()
        wait = PODMAN_STEP_WAIT if podman and isinstance(error, BuildInterrupted) and state["last_id"] else 15.0
        progress.close(False, f"stopped at {state['step']}: {error.what}" + (
            f" Podman ends that step first: waiting for it (at most {wait:.0f} s; Ctrl-C again stops waiting) to "
            "remove what it leaves." if wait > 15 else ""))
        try:
            gone = store.remove_when_released(state["last_id"], seconds=wait)
        except KeyboardInterrupt:  # the learner would rather not wait: the hint says how to clean up later
            gone = False
        except Exception:  # noqa: BLE001 - an engine that is gone cannot be cleaned now; `clean` will
            gone = True
        if not gone and podman:
            error.hint += (" Podman runs the step it was on to its end (it does not stop a build whose client "
                           "went away): `python -m helpers clean` removes what that step leaves, once it ends.")
        return error


def _is_podman() -> bool:
    try:
        return engine.is_podman()
    except Exception:  # noqa: BLE001 - the engine went away: it is no longer running a step to wait for
        return False


def _step_of(text: str, state: dict[str, Any]) -> tuple[int, int, str, str] | None:
    """Return (step, of how many, instruction, "[stage i/n] " or "") if the line starts a step, counting
    Buildah's steps on across stages."""
    m = STEP.match(text)
    if m:
        return int(m[1]), int(m[2]), m[3], ""
    b = BUILDAH_STEP.match(text)
    if b is None:
        return None
    stage = int(b[1] or 1)
    n, total, instruction = int(b[3]), int(b[4]), b[5]
    if stage != state["stage"]:  # a new stage: the steps of the ones before come first
        state["done"] += state["total"]
        state["stage"], state["total"] = stage, total
    label = f"[stage {stage}/{b[2]}] " if b[2] and int(b[2]) > 1 else ""
    return state["done"] + n, state["done"] + total, instruction, label


def build_context(context: Path, dockerfile: Path, text: str | None = None) -> tuple[IO[bytes], str]:
    """Pack the build context as the engine receives it, with the Dockerfile inside; return it and the
    Dockerfile's name in it. ``text``, if given, is packed in place of the Dockerfile's own text.

    The kit's Dockerfiles live outside their context (``dockerfiles/`` against ``app/``). docker-py
    packs such a Dockerfile into the context itself, but then sends the ``dockerfile`` parameter twice
    (its name in the context, then the Dockerfile's whole text): Docker reads the first value, Podman
    the last, and so took the text for a path ("file name too long"). Packed here, the engine is told
    the name once. The context's ``.dockerignore`` applies as with ``docker build``.
    """
    context, dockerfile = Path(context).resolve(), Path(dockerfile).resolve()
    if not context.is_dir():
        raise KitError(f"The build context {context} is not a folder.",
                       "build from a folder (the app's is app/), e.g. build(..., context='app').")
    exclude = None
    ignore = context / ".dockerignore"
    if ignore.is_file():
        exclude = [x.strip() for x in ignore.read_text().splitlines() if x.strip() and not x.strip().startswith("#")]
    if text is None and dockerfile.is_relative_to(context):
        inside: tuple[str, str | None] = (dockerfile.relative_to(context).as_posix(), None)
    else:
        inside = (f".dockerfile.kit.{dockerfile.name}", dockerfile.read_text() if text is None else text)
    try:
        return docker_utils.tar(str(context), exclude=exclude, dockerfile=inside), inside[0]
    except OSError as exc:
        raise KitError(f"The build context {context} could not be packed for the engine.",
                       "check that every file in it can be read (`ls -l`), then build again.",
                       detail=f"the system said: {exc}") from None


def interrupted(request: BuildRequest, step: str) -> BuildInterrupted:
    """Return the error for a build the learner stopped at ``step`` (Ctrl-C, "Interrupt kernel")."""
    return BuildInterrupted(f"Building {request.tag} was interrupted at {step}.",
                            "nothing was kept from this build; run it again when you are ready.")


def timed_out(request: BuildRequest, step: str) -> BuildTimedOut:
    """Return the error for a build still at ``step`` when its bound ran out."""
    return BuildTimedOut(
        f"Building {request.tag} took longer than its bound of {request.timeout:g} s, at {step}.",
        "if that step should take long, raise the bound (build(..., timeout=SECONDS), `--timeout`, or "
        "KIT_BUILD_TIMEOUT); if it should not, the step hangs: look at what it runs.",
    )


def build_error(request: BuildRequest, message: str, log: list[str]) -> KitError:
    """Turn the engine's error line into the kit's error, keeping the lines that explain it."""
    if _BASE_GONE.search(message):
        return BaseImageMissing(
            f"Building {request.tag} failed: a base image is not here and could not be pulled.",
            "check the image name for typos; run `python -m helpers images` to make the kit's base images; "
            "`docker image ls` lists what this engine has.",
            detail=message,
        )
    go_lines = [x for x in log if _GO_ERROR.search(x) or x.lstrip().startswith("--- FAIL")]
    tail = go_lines[-12:] if go_lines else log[-12:]
    what = f"Building {request.tag} from {Path(request.dockerfile).name} failed."
    if any(x.lstrip().startswith("--- FAIL") for x in log):
        what += " The Go tests failed:"
        hint = "read the failing test's file:line below, fix the code (or the test), then build again."
    elif go_lines:
        what += " The Go compiler rejected the code:"
        hint = "fix the Go code at the file:line shown, then build again."
    else:
        hint = "read the last lines of the build below; fix the Dockerfile step they name, then build again."
    detail = "\n".join(tail)
    if message not in detail:
        detail += "\n" + message
    return BuildFailed(what, hint, detail=detail)
