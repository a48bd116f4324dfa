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
from typing import Protocol

import requests
import urllib3
from docker.errors import APIError

from . import engine, store
from .errors import BaseImageMissing, BuildFailed, BuildInterrupted, BuildTimedOut, KitError
from .progress import Progress

#: The classic builder's step lines: "Step 3/10 : COPY go.mod go.sum* ./".
STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_ARROW = re.compile(r"^ ---> ([0-9a-f]{12})$")
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


class ClassicBuilder:
    """The engine's classic builder (``POST /build``), streamed through docker-py."""

    name = "classic"

    def build(self, request: BuildRequest, progress: Progress) -> RawBuild:
        """Stream the build, turning ``Step N/M`` lines into progress and errors into kit errors.

        The build is bounded by ``request.timeout`` seconds: the engine's stream is read with that
        bound, so a step that hangs silently ends the build too. A build cut short (the bound, Ctrl-C,
        "Interrupt kernel", an engine that stops answering) closes the stream, so the engine cancels
        it, and removes the step images it left.
        """
        log: list[str] = []
        state = {"image_id": "", "last_id": "", "step": "before the first step"}
        stage_ids: list[str] = []
        started = time.monotonic()
        stream = None
        try:
            stream = engine.client().api.build(
                path=str(request.context),
                dockerfile=str(Path(request.dockerfile).resolve()),
                tag=request.tag,
                buildargs=request.buildargs,
                labels=request.labels,
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
        seconds = time.monotonic() - started
        image_id = state["image_id"] or next(
            (x.split()[-1] for x in reversed(log) if x.startswith("Successfully built ")), "")  # older engines
        progress.close(True, f"{request.tag} in {seconds:.1f} s")
        return RawBuild(image_id=image_id, log=log, seconds=seconds, stage_ids=stage_ids)

    @staticmethod
    def _take(chunk: dict, request: BuildRequest, progress: Progress, log: list[str], state: dict[str, str],
              stage_ids: list[str]) -> None:
        """Take one chunk of the engine's build stream: a line, the image id, or an error."""
        if "stream" in chunk:
            for text in chunk["stream"].splitlines():
                if not text.strip():
                    continue
                log.append(text)
                m = STEP.match(text)
                if m:
                    n, total, instruction = int(m[1]), int(m[2]), m[3]
                    if instruction.upper().startswith("FROM") and state["last_id"] and n > 1:
                        stage_ids.append(state["last_id"])
                    state["step"] = f"step {n}/{total} ({instruction[:80]})"
                    progress.step(n, total, instruction)
                    continue
                a = _ARROW.match(text)
                if a:
                    state["last_id"] = a[1]
                progress.line(text)
        elif "aux" in chunk and "ID" in chunk["aux"]:
            state["image_id"] = chunk["aux"]["ID"]
        elif "error" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            log.append(message)
            raise build_error(request, message, log)

    @staticmethod
    def _stopped(stream: object, progress: Progress, state: dict[str, str], error: KitError) -> KitError:
        """End a build that did not finish: close the stream, mark the bar, remove its step images."""
        try:
            getattr(stream, "close", lambda: None)()
            engine.client().api.close()  # drop the connection: the engine sees the client go, and cancels
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass
        progress.close(False, f"stopped at {state['step']}: {error.what}")
        try:
            store.remove_when_released(state["last_id"])
        except Exception:  # noqa: BLE001 - an engine that is gone cannot be cleaned now; `clean` will
            pass
        return error


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


def default_builder() -> Builder:
    """Return the builder the kit uses when a call names none."""
    return ClassicBuilder()


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
