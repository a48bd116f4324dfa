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

from . import bases, engine, terminal
from .bases import BaseState
from .builds import build
from .catalog import REPO, VARIANTS
from .container import RunningApp
from .contents import Contents
from .errors import KitError, RecordingMissing
from .inside import read_image_files
from .labels import learner
from .progress import QuietProgress, Say
from .results import BuildResult

RECORDING = Path(__file__).resolve().parent / "data" / "recording.json"


#: What a recording depends on: change any of these and the recording is stale (a test says so).
INPUTS = ["app/*.go", "app/go.mod", "app/.dockerignore", "dockerfiles/Dockerfile.*", "dockerfiles/bases/Dockerfile.*",
          "helpers/builds.py", "helpers/builders.py", "helpers/store.py", "helpers/results.py",
          "helpers/sizes.py", "helpers/image.py", "helpers/terminal.py", "helpers/inside.py", "helpers/contents.py",
          "helpers/dive.py", "helpers/waste.py", "helpers/surface.py", "helpers/fileplots.py", "helpers/gobuild.py",
          "helpers/localbases.py", "helpers/catalog.py", "helpers/recording.py", "helpers/container.py",
          "helpers/tarentries.py"]


def input_digests() -> dict[str, str]:
    """Return the sha256 of every file a recording depends on: the app, the Dockerfiles, the measuring code."""
    files = sorted({p for pattern in INPUTS for p in REPO.glob(pattern) if p.is_file()})
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


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
        now = input_digests()
        return sorted(f for f in set(now) | set(self.digests) if now.get(f) != self.digests.get(f))

    @property
    def summary(self) -> str:
        """Say when, where and on what the recording was made, in one line."""
        p = self.provenance
        return (f"recorded {p['recorded_at']} with Docker {p['engine_version']} on {p['arch']} "
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
    if learner():
        raise KitError(f"The recording shows what a learner alone sees, and this one is learner {learner()}: its "
                       "names would be in that learner's namespace.",
                       "record with no learner: `KIT_LEARNER= python -m helpers record`.")
    info = engine.info()
    results: dict[str, BuildResult] = {}
    inside: dict[str, dict[str, Any]] = {}
    for name in VARIANTS:
        say(f"recording {name} ...")
        r = build(name, progress=QuietProgress(), nocache=True)  # a cold build: the time a learner's first build takes
        with RunningApp(r) as app:
            r.greeting = app.greeting()
        r.log = [x for x in r.log if x.startswith("Step ")]  # the steps, not every line
        results[name] = r
        inside[name] = Contents.of(name, r.tag, read_image_files(r.image_id)).to_dict()
    transcripts = terminal.record_all(say)
    states = {"local" if s.state is BaseState.STALE else s.state.value for s in bases.status()
              if s.state is not BaseState.BUILT_IN}
    rec = Recording(
        provenance={
            "recorded_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "engine_version": info.version,
            "api_version": info.api_version,
            "arch": info.arch,
            "os": info.os,
            "bases": "official" if states == {"official"} else "local equivalent" if states == {"local"} else "mixed",
            "machine": f"{platform.system()} {platform.machine()}",
            "kit_commit": _git_commit(),
            "made_by": "python -m helpers record",
        },
        results=results,
        digests=input_digests(),
        terminal=transcripts,
        inside=inside,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "provenance": rec.provenance,
        "inputs_sha256": rec.digests,
        "results": {n: r.to_dict() for n, r in results.items()},
        "terminal": transcripts,
        "inside": inside,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    say(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {rec.summary}")
    return rec


def load(path: Path = RECORDING) -> Recording:
    """Read the recording the kit ships."""
    if not path.is_file():
        raise RecordingMissing(
            f"There is no recording at {path}.",
            "on a machine with Docker run `python -m helpers record`, or restore it with `git checkout -- helpers/data/`.",
        )
    data = json.loads(path.read_text())
    return Recording(
        provenance=data["provenance"],
        results={n: BuildResult.from_dict(d) for n, d in data["results"].items()},
        digests=data.get("inputs_sha256", {}),
        terminal=data.get("terminal", {}),
        inside=data.get("inside", {}),
    )
