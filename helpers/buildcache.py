"""The build cache (lesson 09): build cold, edit main.go, build again; which steps were CACHED, and the times.

One ``experiment`` is a Dockerfile of ``dockerfiles/cache/`` and a builder: a cold build (``--no-cache``:
no layer reused, and BuildKit's cache mounts start empty too, measured), then the same build of a copy of
the app whose main.go has one more line. Each build's log says, per step, whether it was CACHED (and,
with BuildKit, how long it took): ``steps_of`` reads it. ``record`` keeps one run of every experiment,
with where and when it was made, for Binder (``helpers/data/recording-cache.json``).

The images are throw-away measurements: each experiment removes its tag when it ends. BuildKit's cache
itself stays on the engine, as after any build: that is what the next build reuses.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import engine
from .appcopy import edited_app
from .bases import arg_bases
from .buildkit import find_cli
from .builders import BUILDAH_STEP, STEP
from .builds import build
from .catalog import REPO
from .checks import Checklist
from .cleanup import remove_repo
from .container import RunningApp
from .errors import ContainerFailed, KitError, RecordingMissing
from .exercise import GREETING
from .labels import image_tag, repo_of, slug
from .progress import Progress, QuietProgress, default_progress
from .recording import Recording, changed_inputs, input_digests, provenance, refuse_a_learner

CACHE_DIR = REPO / "dockerfiles" / "cache"
#: The lesson's Dockerfiles, by name: the mistake, the fix, and BuildKit's cache mounts.
DOCKERFILES = {name: CACHE_DIR / f"Dockerfile.{name}" for name in ("copy-first", "deps-first", "cache-mount")}
#: What the lesson builds, in order: every Dockerfile with BuildKit, and the fix with the classic builder
#: beside it (the classic builder cannot read `RUN --mount`).
PLAN = [("copy-first", "buildkit"), ("deps-first", "buildkit"), ("cache-mount", "buildkit"), ("deps-first", "classic")]
#: The exercise's goal: a rebuild after editing main.go under this share of the cold build.
GOAL_RATIO = 0.25
AFTER_EDIT = "after editing main.go"
RECORDING = REPO / "helpers" / "data" / "recording-cache.json"
#: What the cache recording depends on: change any of these and it is stale (a test says so).
INPUTS = ["app/*.go", "app/go.mod", "app/.dockerignore", "dockerfiles/cache/Dockerfile.*", "helpers/buildcache.py",
          "helpers/buildkit.py", "helpers/builders.py", "helpers/builds.py", "helpers/appcopy.py"]

def quiet(_title: str) -> Progress:
    """Return a progress that shows nothing (for the exercise's check, the recording and the tests)."""
    return QuietProgress()


_BUILDKIT_STEP = re.compile(r"^\[(?:(\S+) )?(\d+)/(\d+)\] (.*): (CACHED|DONE ([\d.]+)s)$")  # "[build 4/7] RUN x: CACHED"
_USING_CACHE = re.compile(r"^ ?-{2,3}> Using cache\b")  # Docker's " ---> Using cache", Buildah's "--> Using cache <id>"


@dataclass
class Step:
    """One step of a build: its place, its instruction, whether it was CACHED, and its time (BuildKit only)."""

    stage: str
    index: int
    count: int
    instruction: str
    cached: bool
    seconds: float | None = None


@dataclass
class CacheRun:
    """One build of an experiment: which Dockerfile, which builder, cold or after the edit, and its steps."""

    dockerfile: str
    builder: str
    build: str  # "cold" or AFTER_EDIT
    seconds: float
    steps: list[Step] = field(default_factory=list)
    greeting: str = ""  # what the image answered, when the experiment ran it

    @property
    def cached(self) -> int:
        """Return how many steps were CACHED."""
        return sum(s.cached for s in self.steps)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CacheRun:
        """Read a run back from a recording."""
        return cls(**{**d, "steps": [Step(**s) for s in d["steps"]]})


def steps_of(log: list[str]) -> list[Step]:
    """Read each step's outcome from a build's log: BuildKit's "[build 4/7] RUN ...: CACHED" (or "DONE 0.7s")
    lines, or the classic builder's "Step 4/17 : RUN ..." (Podman's "[1/2] STEP 4/8: RUN ...") followed by
    " ---> Using cache" ("--> Using cache <id>") when cached."""
    steps: list[Step] = []
    for line in log:
        m = _BUILDKIT_STEP.match(line)
        if m:
            stage, i, n, instruction, status, seconds = m.groups()
            steps.append(Step(stage or "", int(i), int(n), instruction, status == "CACHED",
                              None if seconds is None else float(seconds)))
            continue
        c, b = STEP.match(line), BUILDAH_STEP.match(line)
        if c:
            steps.append(Step("", int(c[1]), int(c[2]), c[3], False))
        elif b:
            steps.append(Step(f"stage {b[1]}" if b[1] else "", int(b[3]), int(b[4]), b[5], False))
        elif _USING_CACHE.match(line) and steps and steps[-1].seconds is None:
            steps[-1].cached = True
    return steps


def builders_here() -> list[str]:
    """Return the builders this engine and CLI have: BuildKit (on Docker with a CLI that has it), the classic one."""
    return (["buildkit"] if not engine.is_podman() and find_cli() is not None else []) + ["classic"]


def experiment(name: str, builder: str, progress: Callable[[str], Progress] = default_progress,
               dockerfile: Path | None = None, ask: bool = False) -> list[CacheRun]:
    """Build a Dockerfile cold, then after a one-line edit of main.go; return both builds' runs.

    ``name`` is one of ``DOCKERFILES`` (or any name, with ``dockerfile`` the file to build); ``ask``
    runs the rebuilt image and keeps its answer. The image is removed at the end: only the builder's
    cache stays, as after any build.
    """
    path = dockerfile or DOCKERFILES[name]
    tag = image_tag(f"cache-{slug(name)}-{builder}")

    try:
        cold = build(f"cache-{name}", dockerfile=path, tag=tag, bases=arg_bases(path), nocache=True,
                     builder=builder, progress=progress(f"{name} with {builder}: cold"))
        with tempfile.TemporaryDirectory(prefix="kit-cache-") as tmp:
            after = build(f"cache-{name}", dockerfile=path, tag=tag, bases=arg_bases(path), builder=builder,
                          context=edited_app(tmp, comment=True), progress=progress(f"{name} with {builder}: {AFTER_EDIT}"))
        if ask:
            try:
                with RunningApp(after) as app:
                    after.greeting = app.greeting()
            except ContainerFailed as exc:  # a verdict on the exercise, not an error of the check
                after.greeting = f"nothing: {exc.what}"
    finally:
        remove_repo(repo_of(tag))
    return [CacheRun(name, builder, "cold", cold.seconds, steps_of(cold.log)),
            CacheRun(name, builder, AFTER_EDIT, after.seconds, steps_of(after.log), after.greeting or "")]


def run_all(progress: Callable[[str], Progress] = default_progress) -> list[CacheRun]:
    """Run every experiment of ``PLAN`` that this machine's builders can run."""
    here = builders_here()
    return [run for name, builder in PLAN if builder in here for run in experiment(name, builder, progress)]


def summary(runs: list[CacheRun]) -> pd.DataFrame:
    """Return one row per experiment: cold and after-edit times, their ratio, and the steps cached after the edit."""
    rows = []
    for cold, after in zip(runs[::2], runs[1::2]):
        rows.append({"Dockerfile": cold.dockerfile, "builder": cold.builder, "cold (s)": cold.seconds,
                     f"{AFTER_EDIT} (s)": after.seconds, "× cold": round(after.seconds / cold.seconds, 2),
                     "steps CACHED after the edit": f"{after.cached} of {len(after.steps)}"})
    return pd.DataFrame(rows)


def steps_table(runs: list[CacheRun], dockerfile: str, builder: str | None = None) -> pd.DataFrame:
    """Return the steps of one experiment's two builds side by side: CACHED, or the seconds the step took.

    ``builder`` defaults to BuildKit where it built, else the classic builder (Podman, or no BuildKit CLI).
    An experiment this machine could not run (cache mounts without BuildKit) gives an empty table.
    """
    def outcome(s: Step) -> str:
        return "CACHED" if s.cached else "ran" if s.seconds is None else f"{s.seconds:.1f} s"

    ran = [r for r in runs if r.dockerfile == dockerfile]
    chosen = builder or next((r.builder for r in ran if r.builder == "buildkit"), ran[0].builder if ran else "")
    pair = [r for r in ran if r.builder == chosen]
    if len(pair) != 2:
        return pd.DataFrame(columns=["step", "cold", AFTER_EDIT])
    cold, after = pair
    return pd.DataFrame({"step": [f"[{s.stage + ' ' if s.stage else ''}{s.index}/{s.count}] {s.instruction}"
                                  for s in cold.steps],
                         "cold": [outcome(s) for s in cold.steps],
                         AFTER_EDIT: [outcome(s) for s in after.steps]})


# --- the exercise ----------------------------------------------------------------------------------

def check_dockerfile(path: Path) -> Checklist:
    """Judge lesson 09's exercise: after a one-line edit of main.go, the rebuild takes under a quarter of
    the cold build, and the image still answers."""
    report = Checklist(all_pass="Goal met: an edit of main.go rebuilds in under a quarter of the cold build.",
                       not_yet="Not there yet: change the Dockerfile's order and check again.")
    builder = builders_here()[0]
    try:
        cold, after = experiment(f"exercise-{slug(path.parent.name)}", builder, dockerfile=path,
                                 progress=quiet, ask=True)
    except KitError as exc:
        report.add("the image builds", False, exc.what, f"{exc.hint}\n{exc.detail}".strip())
        return report
    report.add("the image builds", True, f"cold, with {builder}: {cold.seconds:.1f} s")
    ratio = after.seconds / cold.seconds
    report.add(f"a rebuild after editing main.go takes under {GOAL_RATIO:g}× the cold build", ratio < GOAL_RATIO,
               f"{after.seconds:.1f} s, {ratio:.2f}× the cold build; {after.cached} of {len(after.steps)} steps CACHED",
               "copy go.mod first, then run the slow steps that do not need the sources (go mod download, the "
               "dependency build), and only then `COPY *.go ./` and build the app")
    report.add(f"still answers '{GREETING}'", after.greeting == GREETING, f"it answered {after.greeting!r}",
               "keep the app's build and the final stage's ENTRYPOINT as they were: reorder, do not remove")
    return report


# --- the recording ---------------------------------------------------------------------------------

@dataclass
class CacheRecording:
    """Hold one recorded run of every experiment, and where, when and on what it was made."""

    provenance: dict[str, Any]
    runs: list[CacheRun]
    digests: dict[str, str]

    @property
    def summary(self) -> str:
        """Say when, where and on what the recording was made, in one line."""
        return Recording(self.provenance, {}, self.digests).summary

    def stale_inputs(self) -> list[str]:
        """Return the files that changed (or came or went) since the recording was made."""
        return changed_inputs(self.digests, INPUTS)


def record(path: Path = RECORDING, say: Any = print) -> CacheRecording:
    """Run every experiment on the live engine (it must have BuildKit) and write them as the cache recording."""
    refuse_a_learner()  # a learner's classic build has one more step (its label): the counts would differ
    if "buildkit" not in builders_here():
        raise KitError("The cache recording needs BuildKit, which this engine or CLI does not have.",
                       "record on a Docker engine whose CLI has buildx or BuildKit built in.")
    runs = run_all(quiet)
    rec = CacheRecording(provenance("python -m helpers record --cache"), runs, input_digests(INPUTS))
    data = {"provenance": rec.provenance, "inputs_sha256": rec.digests, "runs": [asdict(r) for r in runs]}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    say(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {rec.summary}")
    return rec


def load(path: Path = RECORDING) -> CacheRecording:
    """Read the cache recording the kit ships."""
    if not path.is_file():
        raise RecordingMissing(f"There is no cache recording at {path}.",
                               "on a machine with Docker run `python -m helpers record --cache`, or restore it with "
                               "`git checkout -- helpers/data/`.")
    data = json.loads(path.read_text())
    return CacheRecording(data["provenance"], [CacheRun.from_dict(r) for r in data["runs"]], data["inputs_sha256"])

