"""What the notebooks call. Each function asks this kernel's source of results (``source.py``),
live or recorded, so none of them checks a mode; showing and charting live here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import Markdown, display

from . import buildcache, classroom, recording, source, tables
from .buildcache import CacheRun
from .builds import require_dockerfile
from .catalog import BASES, REPO, VARIANTS, variant
from .checks import Checklist
from .commands import image_list_command, inspect_command
from .contents import Contents
from .container import RunningApp
from .engine import guarded
from .exercise import check_answer as _check_answer
from .plots import size_chart
from .results import BuildResult

if TYPE_CHECKING:
    import ipywidgets

NOTEBOOKS = REPO / "notebooks"
BUILDER_KEYS = ["golang-debian", "golang-alpine"]
RUNTIME_KEYS = ["scratch", "distroless", "alpine", "debian-slim"]


def mode() -> str:
    """Return "live" when results come from a Docker engine, "recorded" when from the recording."""
    return source.current().name


def banner() -> None:
    """Show, when the results are recorded, where and when they were made (live: nothing to show)."""
    source.current().banner()


def setup_check() -> pd.DataFrame:
    """Show whether an engine answers, its architecture, and where each base image comes from."""
    return source.refresh().setup_check().table()  # asked again: the learner may just have started Docker


@guarded("listing the base images")
def base_table() -> pd.DataFrame:
    """Return every base image: the official name, the local equivalent, which one is here, what differs."""
    return source.current().base_table()


@guarded("asking the engine its architecture")
def architecture() -> str:
    """Say, in words, which processors the images built here run on."""
    return source.current().architecture()


def _find(path: str | Path) -> Path:
    """Find a file named relative to the notebook, or to notebooks/ when run from elsewhere."""
    p = Path(path)
    return p if p.exists() or p.is_absolute() else NOTEBOOKS / p


def show_dockerfile(name_or_path: str | Path) -> None:
    """Show a variant's Dockerfile (or any Dockerfile) with syntax highlighting."""
    name = str(name_or_path)
    path = require_dockerfile(variant(name).path if name in VARIANTS else _find(name_or_path))
    display(Markdown(f"`{path.name}`\n```dockerfile\n{path.read_text()}```"))


_shown: set[str] = set()  # the kinds of command this kernel has already shown


def show_command_once(kind: str, command: str) -> None:
    """Print the docker command a helper call stands for, the first time this kind of call runs in a lesson."""
    if command and kind not in _shown:
        _shown.add(kind)
        print(f"(the same in a terminal: {command})")


@guarded("building")
def build(name: str, **options: object) -> BuildResult:
    """Build a catalog variant (with a progress bar), or return its recorded result."""
    result = source.current().build(name, **options)
    show_command_once("build", result.command)
    return result


@guarded("building every variant")
def build_all() -> list[BuildResult]:
    """Build every catalog variant (cached layers make repeats quick), or return the recording."""
    results = source.current().build_all()
    show_command_once("build", results[0].command if results else "")
    return results


def image_list(results: list[BuildResult]) -> pd.DataFrame:
    """Return the images as `docker image ls` lists them, with the kit's figure and the workshop's beside."""
    show_command_once("image ls", image_list_command([r.tag for r in results]))
    return tables.image_list(results)


@guarded("comparing engines")
def sizes_on_engines(results: list[BuildResult]) -> pd.DataFrame:
    """Return these results' sizes beside the same variants' on other engines, from the kit's recordings.

    The unpacked figure is the kit's own and the same everywhere; `docker image ls` is each engine's.
    Each recording is named, with when and on what it was made.
    """
    others = recording.other_engines()
    for rec in others:
        print(rec.summary[:1].upper() + rec.summary[1:])  # "Recorded 2026-11-30 ... with Docker 26.1.5, ..."
    return tables.sizes_on_engines({source.current().engine_title(): results}
                                   | {f"{rec.engine} (recorded)": list(rec.results.values()) for rec in others})


@guarded("looking inside the image")
def look_inside(result: BuildResult) -> Contents:
    """Read what is inside a built image: each layer's files, the waste, the leftovers, the attack surface.

    Live, the image is read as `docker save` streams it (nothing is written to disk); recorded, the
    recording's reading of the same variant is shown.
    """
    contents = source.current().contents(result)
    show_command_once("inspect", inspect_command(result.tag))
    return contents


@guarded("starting a container")
def run(image: str | BuildResult, host_port: int | None = None) -> RunningApp:
    """Run an image on a free host port (use it in a ``with`` block); replay it in recorded mode."""
    app = source.current().run(image, host_port)
    show_command_once("run", app.command)
    return app  # type: ignore[return-value]


@guarded("building your choice of bases")
def build_custom(builder: str, runtime: str) -> BuildResult | None:
    """Build the multi-stage Dockerfile on a builder base and a runtime base of your choice, then run it.

    ``builder`` and ``runtime`` are catalog base keys (``golang-alpine``, ``distroless``) or any image
    on the engine. Returns the result with the greeting the container answered (None when recorded).
    """
    return source.current().build_custom(builder, runtime)


@guarded("checking the exercise")
def check_exercise(dockerfile: str | Path) -> Checklist | None:
    """Build a Dockerfile and check it: under 10 MB, answers on :8080, runs as non-root (a cell shows the verdict)."""
    return _for_the_room("06-exercise", source.current().check_exercise(_find(dockerfile)))


@guarded("building with and without the cache")
def cache_builds() -> list[CacheRun]:
    """Build each of lesson 09's Dockerfiles cold, then after a one-line edit of main.go (or return the recording)."""
    return source.current().cache_runs()


def cache_table(runs: list[CacheRun]) -> pd.DataFrame:
    """Return one row per Dockerfile and builder: cold, after the edit, the ratio, and the steps CACHED."""
    return buildcache.summary(runs)


def cache_steps(runs: list[CacheRun], dockerfile: str, builder: str | None = None) -> pd.DataFrame:
    """Return one experiment's steps, cold and after the edit: CACHED, or the seconds each step took.

    ``builder``: "buildkit" or "classic"; by default BuildKit where it built, else the classic builder.
    """
    table = buildcache.steps_table(runs, dockerfile, builder)
    if table.empty:
        print(f"{dockerfile} was not built{' with ' + builder if builder else ''} here: it needs BuildKit, which "
              "this engine or CLI does not have (Podman, or a Docker CLI without buildx).")
    return table


@guarded("checking the exercise")
def check_cache_exercise(dockerfile: str | Path) -> Checklist | None:
    """Build a Dockerfile cold, edit main.go, build again: is the rebuild under a quarter of the cold build?"""
    return _for_the_room("09-build-cache", source.current().check_cache_exercise(_find(dockerfile)))


def _for_the_room(key: str, report: Checklist | None) -> Checklist | None:
    """Keep an exercise check's verdict in the room's progress (classroom.py); None (recorded) checked nothing."""
    if report is not None:
        classroom.record(key, report.passed, mode())
    return report


def check_answer(key: str, answer: float | str | None,
                 results: BuildResult | list[BuildResult] | pd.DataFrame | Contents | list[Contents]) -> Checklist:
    """Check your answer to a lesson's closing question against your own results (a cell shows the verdict)."""
    report = _check_answer(key, answer, [results] if isinstance(results, BuildResult) else results)
    if answer is not None:  # an attempt: the room's progress (classroom.py) keeps it
        classroom.record(key, report.passed, mode())
    return report


@guarded("running the terminal commands")
def terminal(line: str, cell: str) -> None:
    """Run a cell of docker commands as typed (live), or show their recorded output: the ``%%terminal`` magic."""
    source.current().terminal(cell)


def register_magics() -> None:
    """Make ``%%terminal`` available in this IPython kernel (nothing happens outside IPython)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(terminal, magic_kind="cell", magic_name="terminal")


def base_options() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (label, value) choices for the builder and runtime dropdowns: catalog bases and engine images."""
    def label(key: str) -> str:
        return f"{BASES[key].official}  ({BASES[key].role})"

    extra = [(f"{t}  (on this engine)", t) for t in source.current().extra_images()]
    return [(label(k), k) for k in BUILDER_KEYS] + extra, [(label(k), k) for k in RUNTIME_KEYS] + extra


def base_chooser(results: list[BuildResult | None]) -> ipywidgets.VBox:
    """Return a widget to pick a builder and a runtime base, build and run them, and chart the result."""
    import ipywidgets as w  # imported here: the command line never needs widgets

    from .widgets import chooser

    shown = [r for r in results if r is not None]
    chart = w.Output()

    def redraw() -> None:
        chart.clear_output(wait=True)
        with chart:
            size_chart(shown, title="Image size per variant, with your builds").show()

    def on_build(builder: str, runtime: str) -> None:
        r = build_custom(builder, runtime)
        if r is not None:
            shown.append(r)
            redraw()

    builders, runtimes = base_options()
    ui = chooser(builders, runtimes, on_build, default=("golang-alpine", "distroless"))
    redraw()
    return w.VBox([ui, chart])
