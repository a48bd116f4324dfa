"""Recordings: every variant's real build and run, saved with where, when and on what it was made.

``python -m helpers record`` writes ``helpers/data/recording.json`` from a live engine. Where no
engine answers (Binder), the lessons show this recording instead, labelled as recorded.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import bases, engine, sizes, terminal
from .bases import BaseState
from .builders import is_step_line
from .buildkit import is_step_header
from .builds import build
from .catalog import REPO, VARIANTS
from .container import RunningApp
from .contents import Contents
from .errors import KitError, RecordingMissing
from .inside import read_image_files
from .labels import learner
from .progress import QuietProgress, Say
from .results import BuildResult, engine_title

RECORDING = Path(__file__).resolve().parent / "data" / "recording.json"

#: The same variants' sizes on other engines, recorded by ``python -m helpers record --sizes-only``
#: on each, so that a learner anywhere (Binder too) sees how an engine's own figure differs, by store.
OTHER_ENGINES = {"containerd": RECORDING.with_name("recording-docker26-containerd.json"),
                 "podman": RECORDING.with_name("recording-podman.json")}


#: What a recording depends on: change any of these and the recording is stale (a test says so).
INPUTS = ["app/*.go", "app/go.mod", "app/.dockerignore", "dockerfiles/Dockerfile.*", "dockerfiles/bases/Dockerfile.*",
          "helpers/builds.py", "helpers/builders.py", "helpers/store.py", "helpers/results.py",
          "helpers/sizes.py", "helpers/image.py", "helpers/terminal.py", "helpers/inside.py", "helpers/contents.py",
          "helpers/dive.py", "helpers/waste.py", "helpers/surface.py", "helpers/fileplots.py", "helpers/gobuild.py",
          "helpers/localbases.py", "helpers/catalog.py", "helpers/recording.py", "helpers/container.py",
          "helpers/tarentries.py"]


def input_digests(patterns: list[str] = INPUTS) -> dict[str, str]:
    """Return the sha256 of every file a recording depends on: the app, the Dockerfiles, the measuring code."""
    files = sorted({p for pattern in patterns for p in REPO.glob(pattern) if p.is_file()})
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def changed_inputs(digests: dict[str, str], patterns: list[str] = INPUTS) -> list[str]:
    """Return the files that changed (or came or went) since a recording made with these digests."""
    now = input_digests(patterns)
    return sorted(f for f in set(now) | set(digests) if now.get(f) != digests.get(f))


@dataclass
class Recording:
    """Hold recorded build results and their provenance (when, where, on what)."""

    provenance: dict[str, Any]
    results: dict[str, BuildResult]
    digests: dict[str, str]  # file -> sha256 of what the recording was made from
    terminal: dict[str, dict[str, str]] = field(default_factory=dict)  # lessons' docker commands -> as run, output
    inside: dict[str, dict[str, Any]] = field(default_factory=dict)  # variant -> Contents.to_dict(): lessons 07-08

    def stale_inputs(self) -> list[str]:
        """Return the files that changed (or came or went) since the recording was made."""
        return changed_inputs(self.digests)

    @property
    def engine(self) -> str:
        """Name the engine and its image store: "Docker 26.1.5, containerd image store", "Podman 4.3.1"."""
        p = self.provenance
        store = p.get("image_store") or next((r.image_store for r in self.results.values()), "classic")
        return engine_title(p.get("product", "Docker"), p["engine_version"], store)

    @property
    def summary(self) -> str:
        """Say when, where and on what the recording was made, in one line."""
        p = self.provenance
        return (f"recorded {p['recorded_at']} with {self.engine} on {p['arch']} "
                f"({p['bases']} base images), kit commit {p['kit_commit'][:10]}")


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(path: Path = RECORDING, say: Say = print) -> Recording:
    """Build (cold, without the cache) and run every variant on the live engine, and write the results as a recording.

    Made by a learner alone: the recording shows the workshop's names, whoever replays it.
    """
    refuse_a_learner()
    results = _build_and_run_all(say)
    inside = {n: Contents.of(n, r.tag, read_image_files(r.image_id)).to_dict() for n, r in results.items()}
    transcripts = terminal.record_all(say)
    rec = Recording(provenance("python -m helpers record"), results, input_digests(), transcripts, inside)
    _write(rec, path, say)
    return rec


def record_sizes(path: Path | None = None, say: Say = print) -> Recording:
    """Build (cold) and run every variant on the live engine, and write its results alone (no terminal, no files).

    For another engine than the one ``record`` ran on: the lessons show its sizes beside their own.
    ``path`` defaults to this engine's place in ``OTHER_ENGINES``.
    """
    refuse_a_learner()
    store = sizes.image_store()
    path = path or OTHER_ENGINES.get(store)
    if path is None:
        raise KitError(f"This engine keeps its images in the {store} image store, which `record` covers.",
                       "run `python -m helpers record` here, or `--sizes-only` on Docker with the containerd "
                       "image store or on Podman.")
    rec = Recording(provenance("python -m helpers record --sizes-only"), _build_and_run_all(say), input_digests())
    _write(rec, path, say)
    return rec


def refuse_a_learner() -> None:
    """Raise KitError when a learner is set: every recording is made as a learner alone sees the lessons."""
    if learner():
        raise KitError(f"The recording shows what a learner alone sees, and this one is learner {learner()}: its "
                       "names would be in that learner's namespace.",
                       "record with no learner: `KIT_LEARNER= python -m helpers record`.")


def _build_and_run_all(say: Say) -> dict[str, BuildResult]:
    results: dict[str, BuildResult] = {}
    for name in VARIANTS:
        say(f"recording {name} ...")
        r = build(name, progress=QuietProgress(), nocache=True)  # a cold build: the time a learner's first build takes
        with RunningApp(r) as app:
            r.greeting = app.greeting()
        r.log = [x for x in r.log if is_step_line(x) or is_step_header(x)]  # the steps, not every line
        results[name] = r
    return results


def provenance(made_by: str) -> dict[str, Any]:
    """Say where, when and on what a recording is being made: the engine, its store, the bases, the kit's commit."""
    info = engine.info()
    states = {"local" if s.state is BaseState.STALE else s.state.value for s in bases.status()
              if s.state is not BaseState.BUILT_IN}
    return {
        "recorded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "product": info.product,
        "engine_version": info.version,
        "api_version": info.api_version,
        "image_store": sizes.image_store(),
        "arch": info.arch,
        "os": info.os,
        "bases": "official" if states == {"official"} else "local equivalent" if states == {"local"} else "mixed",
        "machine": f"{platform.system()} {platform.machine()}",
        "kit_commit": _git_commit(),
        "made_by": made_by,
    }


def _write(rec: Recording, path: Path, say: Say) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "provenance": rec.provenance,
        "inputs_sha256": rec.digests,
        "results": {n: r.to_dict() for n, r in rec.results.items()},
        "terminal": rec.terminal,
        "inside": rec.inside,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    say(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {rec.summary}")


def other_engines() -> list[Recording]:
    """Read the other engines' recordings the kit ships (those there are), by store: containerd, then Podman."""
    return [load(p) for p in OTHER_ENGINES.values() if p.is_file()]


def load(path: Path = RECORDING) -> Recording:
    """Read a recording the kit ships (by default, the one the lessons replay)."""
    if not path.is_file():
        raise RecordingMissing(
            f"There is no recording at {path}.",
            f"on {'that engine' if path in OTHER_ENGINES.values() else 'a machine with Docker'} run `python -m helpers "
            f"record{' --sizes-only' if path in OTHER_ENGINES.values() else ''}`, or restore it with "
            "`git checkout -- helpers/data/`.",
        )
    data = json.loads(path.read_text())
    return Recording(
        provenance=data["provenance"],
        results={n: BuildResult.from_dict(d) for n, d in data["results"].items()},
        digests=data.get("inputs_sha256", {}),
        terminal=data.get("terminal", {}),
        inside=data.get("inside", {}),
    )
