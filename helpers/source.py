"""Where the lessons' results come from: a live engine, or the recording. Chosen once, as an object.

``current()`` picks a source the first time a lesson asks: ``KIT_MODE=live|recorded`` when set (the
test suite sets it, so a live run cannot quietly turn recorded), else live when an engine answers or
refuses (its refusal is then the lesson's error, with the fix), recorded when there is none (Binder). Lessons then ask that one object; no lesson function checks a
mode. ``refresh()`` picks again (lesson 00 does, as a learner may just have started Docker).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import pandas as pd
from IPython.display import HTML, display

from . import bases, buildcache, builds, doctor, engine, exercise, recording, store, terminal
from .buildcache import CacheRun
from .catalog import BASES, VARIANTS, variant
from .checks import Checklist
from .commands import run_command
from .container import RunningApp
from .contents import Contents
from .errors import EngineRefused, EngineUnavailable, RecordingMissing
from .inside import read_image_files
from .labels import container_name, image_tag, is_kit_tag, plain, slug
from .progress import default_progress
from .results import BuildResult, engine_title, mb_text
from .tables import base_table


class ResultSource(Protocol):
    """What a lesson can ask for: builds, runs, checks, and facts about the engine."""

    name: str

    def banner(self) -> None:
        """Say where the results come from, when a learner could take them for live ones."""

    def build(self, name: str, **options: object) -> BuildResult:
        """Return the result of building one variant."""

    def build_all(self) -> list[BuildResult]:
        """Return the results of every catalog variant."""

    def run(self, image: str | BuildResult, host_port: int | None = None) -> RunningApp | RecordedApp:
        """Return a running (or replayed) container of an image, for a ``with`` block."""

    def build_custom(self, builder: str, runtime: str) -> BuildResult | None:
        """Build and run the multi-stage Dockerfile on two bases of the learner's choice."""

    def contents(self, result: BuildResult) -> Contents:
        """Return what is inside a built image."""

    def check_exercise(self, path: Path) -> Checklist | None:
        """Judge the exercise's Dockerfile."""

    def setup_check(self) -> Checklist:
        """Return the set-up check."""

    def cache_runs(self) -> list[CacheRun]:
        """Return lesson 09's builds: each Dockerfile cold, then after an edit of main.go."""

    def check_cache_exercise(self, path: Path) -> Checklist | None:
        """Judge lesson 09's exercise: does an edit of main.go rebuild in under a quarter of the cold time?"""

    def base_table(self) -> pd.DataFrame:
        """Return every catalog base and which image stands in for it here."""

    def architecture(self) -> str:
        """Say which processors the images run on."""

    def engine_title(self) -> str:
        """Name the engine (and image store) the results come from, and whether live or recorded."""

    def extra_images(self) -> list[str]:
        """Return the engine's other images, offered as bases in lesson 05."""


class LiveSource:
    """Results from a Docker engine that answers: real builds, real containers."""

    name = "live"

    def banner(self) -> None:
        """Show nothing: live results need no banner."""

    def build(self, name: str, **options: object) -> BuildResult:
        """Build one variant, with a progress bar."""
        return builds.build(name, **options)  # type: ignore[arg-type]

    def terminal(self, cell: str) -> None:
        """Run a lesson's terminal commands as typed, on this engine (the port chosen once per kernel)."""
        if not hasattr(self, "_placeholders"):
            self._placeholders = terminal.Placeholders()
        terminal.run_live(cell, self._placeholders)

    def build_all(self) -> list[BuildResult]:
        """Build every variant in turn, each with its progress bar (cached layers make repeats quick)."""
        results = []
        for i, name in enumerate(VARIANTS, start=1):
            r = builds.build(name, progress=default_progress(f"{i}/{len(VARIANTS)} {name}"))
            print(f"{r.tag:<45} {mb_text(r.size_bytes):>10}  built in {r.seconds:5.1f} s")
            results.append(r)
        return results

    def run(self, image: str | BuildResult, host_port: int | None = None) -> RunningApp:
        """Return a container of the image on a free host port (or ``host_port``)."""
        return RunningApp(image, host_port=host_port)

    def contents(self, result: BuildResult) -> Contents:
        """Read the image as `docker save` streams it, and keep what the lessons show of it."""
        return Contents.of(result.variant, result.tag, read_image_files(result.image_id or result.tag))

    def build_custom(self, builder: str, runtime: str) -> BuildResult:
        """Build the multi-stage Dockerfile on these bases, run it, and keep its greeting."""
        # Named after the images really used: a local equivalent is never shown as the official image.
        name = " -> ".join(bases.resolve(arg, ref).used for arg, ref in [("BUILDER_IMAGE", builder),
                                                                             ("RUNTIME_IMAGE", runtime)])
        tag = image_tag(f"custom-{slug(builder)}-{slug(runtime)}")
        r = builds.build(name, dockerfile=VARIANTS["multistage"].path, tag=tag,
                         bases={"BUILDER_IMAGE": builder, "RUNTIME_IMAGE": runtime})
        with RunningApp(r) as app:
            r.greeting = app.greeting()
        print(f"{r.tag}: {mb_text(r.size_bytes)}, answered {r.greeting!r}")
        return r

    def check_exercise(self, path: Path) -> Checklist:
        """Build, run and judge a Dockerfile."""
        return exercise.check_dockerfile(path)[0]

    def setup_check(self) -> Checklist:
        """Check the engine, its architecture, disk and bases."""
        return doctor.checks()

    def cache_runs(self) -> list[CacheRun]:
        """Build each of lesson 09's Dockerfiles cold and after an edit, with every builder this machine has."""
        if "buildkit" not in buildcache.builders_here():
            print("BuildKit is not available here (Podman, or a Docker CLI without it): only the classic builder's "
                  "builds run, and the cache-mount Dockerfile, which needs BuildKit, is left out.")
        return buildcache.run_all()

    def check_cache_exercise(self, path: Path) -> Checklist:
        """Build a Dockerfile cold and after an edit, and judge the rebuild's time."""
        return buildcache.check_dockerfile(path)

    def base_table(self) -> pd.DataFrame:
        """Say which image stands in for each base on this engine."""
        return base_table({st.key: st.found for st in bases.status()})

    def architecture(self) -> str:
        """Say which processors this engine builds for."""
        return f"This engine builds images for {engine.info().arch_plain}."

    def engine_title(self) -> str:
        """Name this engine and its image store, as live."""
        info = engine.info()  # one question to the engine: its product, version and image store
        return f"{engine_title(info.product, info.version, info.image_store)} (live)"

    def extra_images(self) -> list[str]:
        """Return the tags of the engine's images that are neither a catalog base nor the kit's (any learner's)."""
        known = {b.official for b in BASES.values()} | {b.local for b in BASES.values() if b.local}
        return sorted({plain(t) for image in store.listed() for t in image.tags
                       if plain(t) not in known and not is_kit_tag(t)})


class RecordedApp:
    """Stand in for a running container in recorded mode: it answers what the real one answered."""

    def __init__(self, result: BuildResult) -> None:
        self.result = result
        self.host_port = None
        self.url = "(recorded)"
        self.stop_seconds = None

    def __enter__(self) -> RecordedApp:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    @property
    def command(self) -> str:
        """Return the `docker run` a live run of this image would stand for (Docker picks the port)."""
        return run_command(self.result.tag, container_name(), None)

    def greeting(self) -> str:
        """Return the greeting the container answered when the recording was made."""
        return self.result.greeting or ""


class RecordedSource:
    """Results from the recording, shown under a banner that says where and when they were made."""

    name = "recorded"

    def __init__(self) -> None:
        self.recording = recording.load()
        self._bannered = False

    def banner(self) -> None:
        """Show where the results come from and how to get a live engine (lessons show it once, first)."""
        self._bannered = True
        display(HTML(
            '<div style="border-left:6px solid #e6a700;background:#fff8e1;padding:8px 12px;color:#333">'
            "<b>Recorded results.</b> No Docker engine answers here (on Binder there is none), so nothing is "
            f"built live: the sizes, layers and answers below were {self.recording.summary}, by "
            "<code>python -m helpers record</code>. To build for real, open the kit on a machine with Docker "
            "(<code>make lessons</code>) and restart the kernel.</div>"
        ))

    def _banner_once(self) -> None:
        if not self._bannered:
            self.banner()

    def _results(self) -> dict[str, BuildResult]:
        self._banner_once()
        return self.recording.results

    def _needs_engine(self, what: str) -> None:
        self._banner_once()
        print(f"{what} needs a live Docker engine, and none answers here (these lessons show recorded results).\n"
              "  What to do: run the kit where Docker runs (`make lessons`), then run this cell again.")

    def build(self, name: str, **options: object) -> BuildResult:
        """Return the recorded result of one variant (an unknown name is still an error)."""
        variant(name)
        if options:
            raise EngineUnavailable("This build has options only a live engine can honour.",
                                    "run the kit where Docker runs (make lessons).")
        r = self._results()[name]
        print(f"{r.tag}: recorded result ({self.recording.provenance['recorded_at']}), not built here")
        return r

    def terminal(self, cell: str) -> None:
        """Show a lesson's terminal commands with the output they printed when recorded."""
        self._banner_once()
        transcripts = {t: terminal.Transcript(t, x["command"], x["output"]) for t, x in self.recording.terminal.items()}
        terminal.replay(cell, transcripts, self.recording.summary)

    def build_all(self) -> list[BuildResult]:
        """Return every recorded result."""
        return list(self._results().values())

    def run(self, image: str | BuildResult, host_port: int | None = None) -> RecordedApp:
        """Replay a recorded container's answer."""
        if not isinstance(image, BuildResult):
            raise EngineUnavailable("Running an image needs a live Docker engine.", "run the kit where Docker runs.")
        return RecordedApp(image)

    def contents(self, result: BuildResult) -> Contents:
        """Return the recording's reading of the same variant's image."""
        found = self.recording.inside.get(result.variant)
        if found is None:
            raise RecordingMissing(f"The recording has not looked inside the {result.variant} image.",
                                   "on a machine with Docker run `python -m helpers record`, then commit the recording.")
        return Contents.from_dict(found)

    def build_custom(self, builder: str, runtime: str) -> None:
        """Say that a custom build needs a live engine."""
        self._needs_engine("Building on a base of your choice")

    def check_exercise(self, path: Path) -> None:
        """Say that checking the exercise needs a live engine."""
        self._needs_engine("Checking the exercise")

    def cache_runs(self) -> list[CacheRun]:
        """Return the cache recording's builds, and say when, where and on what they were made."""
        self._banner_once()
        rec = buildcache.load()
        print(f"The cache lesson's builds: {rec.summary}.")
        return rec.runs

    def check_cache_exercise(self, path: Path) -> None:
        """Say that checking the exercise needs a live engine."""
        self._needs_engine("Checking the exercise")

    def setup_check(self) -> Checklist:
        """Say that no engine answers, and what the recording is."""
        p = self.recording.provenance
        out = Checklist(all_pass="", not_yet="Showing recorded results: to build live, run the kit where Docker runs.")
        out.add("Docker engine", False, "none answers here: showing recorded results",
                "to build live, run the kit where Docker runs (make lessons)")
        out.add("Recording", True, f"Docker {p['engine_version']} on {p['arch']}, {p['recorded_at']}")
        return out

    def base_table(self) -> pd.DataFrame:
        """Say which image stood in for each base when the recording was made."""
        used = {b.requested: b.used for r in self._results().values() for b in r.bases}
        return base_table({b.key: used.get(b.official, b.official) for b in BASES.values()}, "used in the recording")

    def architecture(self) -> str:
        """Say which processors the recording's images run on."""
        arch = self.recording.provenance["arch"]
        return f"The recording was made on {arch}: its images run on {arch} machines."

    def engine_title(self) -> str:
        """Name the engine the recording was made on, as recorded."""
        return f"{self.recording.engine} (recorded)"

    def extra_images(self) -> list[str]:
        """Offer nothing beyond the catalog: there is no engine to list."""
        return []


_CURRENT: ResultSource | None = None


def choose() -> ResultSource:
    """Pick the source: KIT_MODE when set, else live if an engine answers, else recorded."""
    forced = os.environ.get("KIT_MODE", "").strip().lower()
    if forced == "live":
        return LiveSource()
    if forced == "recorded":
        return RecordedSource()
    problem = engine.probe()
    # Recorded results are for where there is no engine at all; an engine that refuses (this user, this
    # address, this API version) is an error with its fix, which the lessons' first call shows.
    return RecordedSource() if problem is not None and not isinstance(problem, EngineRefused) else LiveSource()


def current() -> ResultSource:
    """Return this kernel's source of results, choosing it the first time."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = choose()
    return _CURRENT


def refresh() -> ResultSource:
    """Choose the source again (an engine may have started or stopped) and return it."""
    global _CURRENT
    _CURRENT = choose()
    return _CURRENT


def use(source: ResultSource | None) -> None:
    """Make ``source`` this process's source of results (None: choose again when next asked)."""
    global _CURRENT
    _CURRENT = source
