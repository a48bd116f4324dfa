"""Reading a Dockerfile's structure: its ARG defaults and its stages, without building it.

The kit needs two answers from a Dockerfile's text: which base image each ``ARG`` names by default
(to swap in a local equivalent), and which ``FROM`` the image that is built stands on (to tell the
base's layers from ours). Both follow the Dockerfile reference: ``ARG`` before the first ``FROM``,
``FROM <image or stage> [AS name]``. Back from a built image's history, ``instruction_of`` writes the
Dockerfile line each step was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

_ARG = re.compile(r"^\s*ARG\s+(\w+)(?:=(\S+))?\s*$", re.I)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", re.I)
_VAR = re.compile(r"^\$\{?(\w+)\}?$")


@dataclass(frozen=True)
class Stage:
    """One ``FROM`` of a Dockerfile: what it starts from, and its name if it has one."""

    source: str  # an image reference, ``${ARG}``, or an earlier stage's name
    name: str | None


@dataclass(frozen=True)
class Dockerfile:
    """The parts of a Dockerfile the kit reads: global ARG defaults and the stages in order."""

    args: dict[str, str | None]
    stages: list[Stage]

    @classmethod
    def read(cls, path: str | Path) -> Dockerfile:
        """Parse the Dockerfile at ``path``."""
        return cls.parse(Path(path).read_text())

    @classmethod
    def parse(cls, text: str) -> Dockerfile:
        """Parse a Dockerfile's text (line continuations are not needed for ARG and FROM)."""
        args: dict[str, str | None] = {}
        stages: list[Stage] = []
        for line in text.splitlines():
            m = _FROM.match(line)
            if m:
                stages.append(Stage(m[1], m[2].lower() if m[2] else None))
                continue
            a = _ARG.match(line)
            if a and not stages:  # only ARGs before the first FROM can be used in FROM lines
                args[a[1]] = a[2]
        return cls(args, stages)

    def final_source(self, target: str | None = None) -> str | None:
        """Return what the built image stands on: ``${ARG}``, an image reference, or None (no FROM).

        The built stage is ``target`` (or the last one); a stage that starts from an earlier stage
        is followed back to the image or ARG that stage starts from.
        """
        by_name = {s.name: s for s in self.stages if s.name}
        stage = by_name.get(target.lower()) if target else (self.stages[-1] if self.stages else None)
        seen: set[str] = set()
        while stage is not None:
            src = stage.source
            if src.lower() in by_name and src.lower() not in seen:
                seen.add(src.lower())
                stage = by_name[src.lower()]
                continue
            return src
        return None


def arg_name(source: str) -> str | None:
    """Return the ARG a FROM source names (``${RUNTIME_IMAGE}`` -> ``RUNTIME_IMAGE``), or None."""
    m = _VAR.match(source)
    return m[1] if m else None


def with_labels(text: str, labels: dict[str, str], target: str | None = None) -> str:
    """Return a Dockerfile's text with one ``LABEL`` line, keys sorted, ending the stage that is built.

    What ``docker build --label`` does, in a repeatable order: Podman 4.3 turns each label it is sent into
    a LABEL step of its own in a random order (a Go map's), so an unchanged rebuild missed the cache and
    made a new image. The built stage is ``target`` (or the last one).
    """
    if not labels:
        return text
    lines = text.splitlines()
    end = len(lines)
    if target:
        starts = [i for i, line in enumerate(lines) if _FROM.match(line)]
        names = [(m[2] or "").lower() for m in (_FROM.match(lines[i]) for i in starts) if m]
        if target.lower() in names:
            k = names.index(target.lower())
            end = starts[k + 1] if k + 1 < len(starts) else len(lines)
    label = "LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items()))
    return "\n".join([*lines[:end], label, *lines[end:]]) + "\n"


def instruction_of(created_by: str) -> str:
    """Write a history step's CreatedBy as the Dockerfile line it came from, for either builder.

    Classic: ``/bin/sh -c #(nop)  ENV X=1`` or ``/bin/sh -c go build``; BuildKit: ``RUN /bin/sh -c go
    build # buildkit`` or ``COPY *.go ./ # buildkit``.
    """
    text = created_by.strip().removesuffix("# buildkit").strip()
    if text.startswith("/bin/sh -c #(nop)"):
        return text.removeprefix("/bin/sh -c #(nop)").strip()
    if text.startswith("RUN /bin/sh -c "):
        return "RUN " + text.removeprefix("RUN /bin/sh -c ")
    if text.startswith("/bin/sh -c "):
        return "RUN " + text.removeprefix("/bin/sh -c ")
    return text
