"""What the lessons call: build, run, show and compare, live on an engine or from the recording.

Mode: ``live`` when a Docker engine answers, ``recorded`` when none does (Binder); the environment
variable KIT_MODE=live|recorded forces one. In recorded mode nothing is built: the lessons show the
recording, labelled with where and when it was made, and a call that needs an engine (a custom
base, the exercise check) says so instead of pretending.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from IPython.display import HTML, Markdown, display

from . import bases as _bases
from . import builder as _build
from . import doctor, engine, recording
from .catalog import BASES, MB, REPO, TAG_PREFIX, VARIANTS, variant
from .errors import BaseImageMissing, DockerfileMissing, EngineUnavailable, KitError
from .plots import size_chart
from .progress import QuietProgress
from .results import BuildResult, human_size
from .container import RunningApp

if TYPE_CHECKING:
    import ipywidgets

_MODE: str | None = None
NOTEBOOKS = REPO / "notebooks"


def mode(refresh: bool = False) -> str:
    """Return "live" when a Docker engine answers, "recorded" when the lessons show the recording."""
    global _MODE
    if _MODE is None or refresh:
        forced = os.environ.get("KIT_MODE", "").strip().lower()
        if forced in ("live", "recorded"):
            _MODE = forced
        else:
            _MODE = "live" if engine.available() else "recorded"
    return _MODE


_BANNER_SHOWN = False
_RECORDING: recording.Recording | None = None


def _load() -> recording.Recording:
    """Read the recording once per kernel."""
    global _RECORDING
    if _RECORDING is None:
        _RECORDING = recording.load()
    return _RECORDING


def _recorded() -> recording.Recording:
    """Return the recording, showing the recorded-results banner the first time in this kernel."""
    _banner_once()
    return _load()


def _banner_once() -> None:
    if not _BANNER_SHOWN:
        banner()


def banner() -> None:
    """Show, in recorded mode, where the results come from and how to get a live engine."""
    global _BANNER_SHOWN
    if mode() != "recorded":
        return
    _BANNER_SHOWN = True
    rec = _load()
    display(HTML(
        '<div style="border-left:6px solid #e6a700;background:#fff8e1;padding:8px 12px;color:#333">'
        "<b>Recorded results.</b> No Docker engine answers here (on Binder there is none), so nothing is "
        f"built live: the sizes, layers and answers below were {rec.summary}, by "
        "<code>python -m helpers record</code>. To build for real, open the kit on a machine with Docker "
        "(<code>make lessons</code>) and restart the kernel.</div>"
    ))


def _needs_engine(what: str) -> None:
    _banner_once()
    print(f"{what} needs a live Docker engine, and none answers here (these lessons show recorded results).\n"
          "  What to do: run the kit where Docker runs (`make lessons`), then run this cell again.")


# --- lesson 00 ------------------------------------------------------------------------------

def setup_check() -> pd.DataFrame:
    """Show whether an engine answers, its architecture, and where each base image comes from."""
    if mode(refresh=True) == "recorded":  # asked again: the learner may just have started Docker
        p = _recorded().provenance
        return pd.DataFrame([
            {"check": "Docker engine", "ok": False, "found": "none answers here: showing recorded results",
             "what to do": "to build live, run the kit where Docker runs (make lessons)"},
            {"check": "Recording", "ok": True, "found": f"Docker {p['engine_version']} on {p['arch']}, {p['recorded_at']}",
             "what to do": ""},
        ])
    return doctor.table()


def base_table() -> pd.DataFrame:
    """Return every base image: the official name, the local equivalent, which one is here, what differs."""
    if mode() == "recorded":
        used = {b.requested: b for r in _recorded().results.values() for b in r.bases}
        rows = [{"base": b.key, "official image": b.official, "local equivalent": b.local or "",
                 "used in the recording": (used[b.official].used if b.official in used else b.official),
                 "what differs": b.differs} for b in BASES.values()]
        return pd.DataFrame(rows)
    rows = []
    for st in _bases.status():
        b = BASES[st.key]
        rows.append({"base": b.key, "official image": b.official, "local equivalent": b.local or "",
                     "here": st.state, "what differs": b.differs if st.state == "local" else ""})
    return pd.DataFrame(rows)


def architecture() -> str:
    """Say, in words, which processors the images built here run on."""
    if mode() == "recorded":
        arch = _recorded().provenance["arch"]
        return f"The recording was made on {arch}: its images run on {arch} machines."
    info = engine.info()
    return f"This engine builds images for {info.arch_plain}."


# --- lessons 01-03: one variant at a time -----------------------------------------------------

def _find(path: str | Path) -> Path:
    """Find a file named relative to the notebook, or to notebooks/ when run from elsewhere."""
    p = Path(path)
    return p if p.exists() or p.is_absolute() else NOTEBOOKS / p


def show_dockerfile(name_or_path: str | Path) -> None:
    """Show a variant's Dockerfile (or any Dockerfile) with syntax highlighting."""
    name = str(name_or_path)
    path = variant(name).path if name in VARIANTS else _find(name_or_path)
    if not path.is_file():
        raise DockerfileMissing(f"There is no Dockerfile at {path}.", "check the path, relative to notebooks/.")
    display(Markdown(f"`{path.name}`\n```dockerfile\n{path.read_text()}```"))


def build(name: str, **kwargs) -> BuildResult:
    """Build a catalog variant live (with a progress bar), or return its recorded result."""
    if mode() == "live":
        return _build.build(name, **kwargs)
    variant(name)  # an unknown name is still an error in recorded mode
    if kwargs:
        raise EngineUnavailable("This build has options only a live engine can honour.",
                                "run the kit where Docker runs (make lessons).")
    rec = _recorded()
    r = rec.results[name]
    print(f"{r.tag}: recorded result ({rec.provenance['recorded_at']}), not built here")
    return r


def build_all() -> list[BuildResult]:
    """Build every catalog variant (cached layers make repeats quick), or return the recording."""
    if mode() == "recorded":
        return list(_recorded().results.values())
    results = []
    for name in VARIANTS:
        r = _build.build(name, progress=QuietProgress())
        print(f"{r.tag:<45} {r.size_bytes / MB:9.2f} MB  built in {r.seconds:5.1f} s")
        results.append(r)
    return results


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

    def greeting(self) -> str:
        """Return the greeting the container answered when the recording was made."""
        return self.result.greeting or ""


def run(image: str | BuildResult, host_port: int | None = None) -> RunningApp | RecordedApp:
    """Run an image on a free host port (use it in a ``with`` block); replay it in recorded mode."""
    if mode() == "recorded":
        if not isinstance(image, BuildResult):
            raise EngineUnavailable("Running an image needs a live Docker engine.", "run the kit where Docker runs.")
        return RecordedApp(image)
    return RunningApp(image, host_port=host_port)


def bases_used(result: BuildResult) -> pd.DataFrame:
    """Return which image each base ARG of a build asked for, which it got, and what differs."""
    return pd.DataFrame([{"ARG": b.arg, "asked for": b.requested, "used": b.used,
                          "local equivalent": b.local_equivalent, "what differs": b.differs}
                         for b in result.bases])


def image_list(results: list[BuildResult]) -> pd.DataFrame:
    """Return the images as `docker image ls` shows them, with the workshop's figure beside ours."""
    rows = []
    for r in sorted(results, key=lambda r: -r.size_bytes):
        repo, _, tag = r.tag.rpartition(":")
        v = VARIANTS.get(r.variant)
        rows.append({"REPOSITORY": repo, "TAG": tag, "IMAGE ID": r.image_id.removeprefix("sha256:")[:12],
                     "SIZE": human_size(r.size_bytes),
                     "workshop": f"{v.workshop_mb:g}MB" if v and v.workshop_mb else "",
                     "architecture": r.architecture})
    return pd.DataFrame(rows)


# --- lesson 04: compare -----------------------------------------------------------------------

def reduction_table(results: list[BuildResult]) -> pd.DataFrame:
    """Recompute the workshop's "x136 smaller than Debian, x60 smaller than Alpine" from our builds."""
    by = {r.variant: r.size_bytes for r in results}
    rows = []
    for small in ["multistage", "scratch-hardened"]:
        for big in ["debian", "alpine"]:
            if small in by and big in by:
                said = WORKSHOP_FACTORS.get((small, big), "")
                ws_small, ws_big = VARIANTS[small].workshop_mb, VARIANTS[big].workshop_mb
                rows.append({"smaller image": small, "compared with": big,
                             "workshop said": said,
                             "workshop's own figures give": f"x{ws_big / ws_small:.0f}" if ws_small and ws_big else "",
                             "our builds give": f"x{by[big] / by[small]:.0f}"})
    return pd.DataFrame(rows)


#: What the workshop's text says (it rounded: 370MB / 6.37MB is x58).
WORKSHOP_FACTORS = {("multistage", "debian"): "x136", ("multistage", "alpine"): "x60"}


# --- lesson 05: choose your base --------------------------------------------------------------

BUILDER_KEYS = ["golang-debian", "golang-alpine"]
RUNTIME_KEYS = ["scratch", "distroless", "alpine", "debian-slim"]


def build_custom(builder: str, runtime: str) -> BuildResult | None:
    """Build the multi-stage Dockerfile on a builder base and a runtime base of your choice, then run it.

    ``builder`` and ``runtime`` are catalog base keys (``golang-alpine``, ``distroless``) or any image
    on the engine. Returns the result with the greeting the container answered.
    """
    if mode() == "recorded":
        _needs_engine("Building on a base of your choice")
        return None
    name = f"{_short(builder)} -> {_short(runtime)}"
    tag = f"{TAG_PREFIX}custom-{_build.slug(builder)}-{_build.slug(runtime)}:latest"
    r = _build.build(name, dockerfile=VARIANTS["multistage"].path, tag=tag,
                     bases={"BUILDER_IMAGE": builder, "RUNTIME_IMAGE": runtime})
    with RunningApp(r) as app:
        r.greeting = app.greeting()
    print(f"{r.tag}: {r.size_bytes / MB:.2f} MB, answered {r.greeting!r}")
    return r


def _short(ref: str) -> str:
    return BASES[ref].official if ref in BASES else ref


def base_options() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (label, value) choices for the builder and runtime dropdowns: catalog bases and engine images."""
    def label(key: str) -> str:
        b = BASES[key]
        return f"{b.official}  ({b.role})"

    builders = [(label(k), k) for k in BUILDER_KEYS]
    runtimes = [(label(k), k) for k in RUNTIME_KEYS]
    if mode() == "live":
        known = {b.official for b in BASES.values()} | {b.local for b in BASES.values() if b.local}
        for image in engine.client().images.list():
            for t in image.tags:
                if t not in known and not t.startswith(TAG_PREFIX):
                    builders.append((f"{t}  (on this engine)", t))
                    runtimes.append((f"{t}  (on this engine)", t))
    return builders, runtimes


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


# --- lesson 06: the exercise ------------------------------------------------------------------

EXERCISE_TARGET_MB = 10.0


@dataclass
class ExerciseReport:
    """Say which of the exercise's goals a Dockerfile meets, and what to try next."""

    size_mb: float | None = None
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (goal, passed, hint)

    @property
    def passed(self) -> bool:
        """Say whether every goal is met."""
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def __str__(self) -> str:
        lines = [f"{'PASS' if ok else 'FAIL'}  {goal}" + ("" if ok else f"\n      try: {hint}")
                 for goal, ok, hint in self.checks]
        lines.append("All goals met: well done!" if self.passed else "Not there yet: change the Dockerfile and check again.")
        return "\n".join(lines)


def _arg_bases(path: Path) -> dict[str, str]:
    """Map each `ARG NAME=<official image>` of a Dockerfile to the catalog base it names."""
    by_official = {b.official: b.key for b in BASES.values()}
    found = re.findall(r"^ARG (\w+)=(\S+)\s*$", path.read_text(), re.M)
    return {arg: by_official[default] for arg, default in found if default in by_official}


def check_exercise(dockerfile: str | Path, target_mb: float = EXERCISE_TARGET_MB) -> ExerciseReport | None:
    """Build a Dockerfile and check it: under ``target_mb``, answers on :8080, runs as non-root."""
    if mode() == "recorded":
        _needs_engine("Checking the exercise")
        return None
    path = _find(dockerfile)
    report = ExerciseReport()
    try:
        r = _build.build("exercise", dockerfile=path, tag=f"{TAG_PREFIX}exercise-{_build.slug(path.parent.name)}:latest",
                         bases=_arg_bases(path))
    except BaseImageMissing as exc:
        report.checks.append(("the image builds", False,
                              f"{exc.what} Name each base in an `ARG NAME=<official image>` line and use "
                              "FROM ${NAME}, as the starting file does: the kit then swaps in a local "
                              "equivalent when Docker Hub cannot be reached."))
        print(report)
        return report
    except KitError as exc:
        report.checks.append(("the image builds", False, str(exc)))
        print(report)
        return report
    report.size_mb = r.size_bytes / MB
    report.checks.append(("the image builds", True, ""))
    report.checks.append((f"smaller than {target_mb:g} MB (it is {report.size_mb:.1f} MB)", report.size_mb < target_mb,
                          "build in one stage and copy only the binary into a small final stage (FROM scratch)"))
    greeting, uids = "", []
    try:
        with RunningApp(r) as app:
            greeting = app.greeting()
            uids = app.process_uids()
    except KitError as exc:
        greeting = f"(no answer: {exc.what})"
    report.checks.append(("answers 'Hello CMS DAQ Group!' on port 8080", greeting == "Hello CMS DAQ Group!",
                          f"it answered {greeting!r}; keep EXPOSE 8080 and the ENTRYPOINT to the binary, built with CGO_ENABLED=0"))
    nonroot = r.nonroot and bool(uids) and all(u != "0" for u in uids)
    report.checks.append(("runs as a non-root user", nonroot,
                          "add `USER 65532:65532` to the final stage (scratch has no user names, so use numbers)"))
    print(report)
    return report
