"""The benchmark: build times, rebuild times, sizes and layers per variant, printed as a table; and
the kit's image reader against dive on one saved archive (``inside_report``: no engine needed).

Numbers, not pass/fail: speed goals live here, never in timed tests.
"""

from __future__ import annotations

import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from docker.errors import APIError

from . import bases, buildcache, engine, store
from .appcopy import edited_app
from .bases import BaseState
from .buildkit import find_cli
from .builds import build
from .catalog import APP_DIR, REPO, VARIANTS, variant
from .cleanup import remove_repo
from .dive import DIVE_VERSION, dive_binary
from .errors import KitError
from .labels import image_tag, repo_of
from .progress import QuietProgress


def _cli_build_seconds(name: str, tag: str, builder: str = "classic") -> float | None:
    """Time the plain CLI's `docker build --no-cache` (classic builder) or BuildKit build (buildx, or a CLI with
    it built in) of the same Dockerfile and bases; None without such a CLI."""
    cli = find_cli()
    if builder == "buildkit" and cli is None or builder == "classic" and shutil.which("docker") is None:
        return None
    v = variant(name)
    args = []
    for arg, key in v.bases.items():
        args += ["--build-arg", f"{arg}={bases.resolve(arg, key).used}"]
    if builder == "buildkit":
        assert cli is not None
        command, env = [*cli.command], {**os.environ, **dict(cli.env)}
    else:  # same engine (DOCKER_HOST, context), classic builder
        command, env = ["docker", "build"], {**os.environ, "DOCKER_BUILDKIT": "0"}
    client = engine.client()
    dangling_before = {i.id for i in store.listed(filters={"dangling": True})}
    started = time.monotonic()
    proc = subprocess.run([*command, "--no-cache", "-q", "-f", str(v.path), "-t", tag, *args, str(APP_DIR)],
                          env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
    # The classic builder leaves each earlier stage as an untagged image: remove the ones this made.
    for image in store.listed(filters={"dangling": True}):
        if image.id not in dangling_before:
            try:
                client.images.remove(image.id)
            except APIError:
                pass
    return round(seconds, 1) if proc.returncode == 0 else None


def run(names: list[str] | None = None, compare_cli: bool = True,
        builders: list[str] | None = None, repeat: int = 1) -> pd.DataFrame:
    """Build each variant cold, then after a one-line edit of main.go, with each builder; return the numbers.

    ``builders`` defaults to every builder this machine has (BuildKit, the classic builder). Lesson 09's
    Dockerfiles follow, each with its builder: the cache's own figures. With ``repeat``, each measurement
    is made that many times, the kit's and the CLI's builds in turn, and the median shown: one build's time
    spreads too much to compare two ways of making it.
    """
    rows = []
    builders = builders or buildcache.builders_here()
    for builder in builders:
        for name in names or list(VARIANTS):
            runs = [_variant_once(name, builder, compare_cli) for _ in range(repeat)]
            rows.append(_row(name, builder, _median([r.cold_s for r in runs]), _median([r.rebuilt_s for r in runs]),
                             runs[0].size_mb, runs[0].layers, _median([r.cli_s for r in runs]), repeat))
    if names is None:
        for name, builder in buildcache.PLAN:
            if builder in builders:
                pairs = [buildcache.experiment(name, builder, buildcache.quiet) for _ in range(repeat)]
                rows.append(_row(f"lesson 09: {name}", builder, _median([c.seconds for c, _ in pairs]),
                                 _median([a.seconds for _, a in pairs]), None, None, None, repeat))
    return pd.DataFrame(rows).astype({"layers": "Int64"})  # whole numbers, and <NA> for lesson 09's rows


class _Once(NamedTuple):
    """One measurement of a variant with one builder: three build times, and the image they made."""

    cold_s: float
    rebuilt_s: float
    cli_s: float | None  # the plain CLI's cold build; None when not compared, or no such CLI
    size_mb: float
    layers: int


def _variant_once(name: str, builder: str, compare_cli: bool) -> _Once:
    """Build a variant cold and after the edit, then (``compare_cli``) the plain CLI's cold build of it."""
    cold = build(name, nocache=True, progress=QuietProgress(), builder=builder,
                 tag=image_tag(f"bench-cold-{name}-{builder}"))
    with tempfile.TemporaryDirectory() as tmp:
        rebuilt = build(name, context=edited_app(tmp, comment=True), progress=QuietProgress(),
                        builder=builder, tag=image_tag(f"bench-cold-{name}-{builder}"))
    cli = _cli_build_seconds(name, image_tag(f"bench-cli-{name}"), builder) if compare_cli else None
    remove_repo(repo_of(rebuilt.tag))  # both builds are only measurements: the real variant image stays
    return _Once(cold.seconds, rebuilt.seconds, cli, cold.size_mb, cold.fs_layers)


def _median(values: list[float | None]) -> float | None:
    """Return the median of the values measured (None when none was: no CLI to compare)."""
    measured = [v for v in values if v is not None]
    return statistics.median(measured) if measured else None


def _row(name: str, builder: str, cold: float | None, rebuild: float | None, mb: float | None, layers: int | None,
         cli: float | None, runs: int) -> dict[str, object]:
    assert cold is not None and rebuild is not None
    return {"variant": name, "builder": builder, "runs": runs, "cold_build_s": round(cold, 1),
            "rebuild_after_main_go_s": round(rebuild, 1), "rebuild_x_cold": round(rebuild / cold, 2),
            "image_mb": mb, "layers": layers, "plain_cli_cold_s": cli,
            "kit_x_cli": round(cold / cli, 2) if cli else None}


def span_utc(start: float, end: float | None = None) -> str:
    """Return when a measurement ran, from ``start`` to ``end`` (now if None), as ``2026-12-02 15:39-15:55 UTC``.

    A table's heading says when it was measured; a stamp taken once, at its end, read as its start.
    """
    first, last = time.gmtime(start), time.gmtime(time.time() if end is None else end)
    day = time.strftime("%Y-%m-%d", first)
    to = time.strftime("%H:%M" if time.strftime("%Y-%m-%d", last) == day else "%Y-%m-%d %H:%M", last)
    return f"{day} {time.strftime('%H:%M', first)}-{to} UTC"


def report(names: list[str] | None = None, compare_cli: bool = True, builders: list[str] | None = None,
           repeat: int = 1) -> str:
    """Run the benchmark and return it as a text table, with where and when it ran, and each builder's total."""
    info, start = engine.info(), time.time()
    df = run(names, compare_cli, builders, repeat)
    head = (f"benchmark {span_utc(start)}, {info.product} {info.version} "
            f"on {info.arch}, {'local equivalent' if any(b.state is BaseState.LOCAL for b in bases.status()) else 'official'} bases"
            + (f"; each time the median of {repeat} runs" if repeat > 1 else ""))
    variants = df[~df["variant"].str.startswith("lesson 09")]
    totals = "; ".join(f"{b}: {s:.1f} s" for b, s in variants.groupby("builder")["cold_build_s"].sum().items())
    cli = "; ".join(f"{b}: {s:.1f} s" for b, s in variants.groupby("builder")["plain_cli_cold_s"].sum().items() if s)
    return (f"{head}\n{df.to_string(index=False)}\nevery variant cold, in all: {totals}"
            + (f"\nthe plain CLI's cold builds, in all: {cli}" if cli else ""))


_READ_AND_DIVE = ("import sys\nfrom helpers.inside import read_files_path\nfrom helpers.dive import dive_figures\n"
                  "dive_figures(read_files_path(sys.argv[1]))")


# Runs one command and prints its exit code, wall seconds and peak RSS (kB). It runs in a small Python
# of its own (-S: no site-packages) so that the measured command is forked from a small process:
# Linux counts the resident pages a child had before exec in its peak, and the kit's process holds pandas.
_TIMER = ("import os, resource, sys, time\n"
          "null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]\n"
          "t = time.monotonic()\n"
          "pid = os.posix_spawnp(sys.argv[1], sys.argv[1:], os.environ, file_actions=null)\n"
          "_, status = os.waitpid(pid, 0)\n"
          "print(os.waitstatus_to_exitcode(status), time.monotonic() - t,"
          " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def measure(cmd: list[str], repeat: int = 3, cwd: str | Path = REPO) -> tuple[float, int]:
    """Run a command ``repeat`` times, its output thrown away; return the fastest wall seconds and its peak RSS in bytes.

    Each run is a grandchild, started and waited for by a small timer process that reads its
    ``RUSAGE_CHILDREN`` (as /usr/bin/time does): the peak is that run's own.
    """
    best, peak = math.inf, 0
    for _ in range(max(1, repeat)):
        done = subprocess.run([sys.executable, "-S", "-c", _TIMER, *cmd], cwd=cwd, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        try:
            code, seconds, rss_kb = done.stdout.split()
        except ValueError:
            code, seconds, rss_kb = "-1", "0", "0"
        if done.returncode != 0 or code != "0":
            raise KitError(f"The benchmark's run of {Path(cmd[0]).name} failed.", "run it by hand to see why.",
                           detail=" ".join(cmd) + "\n" + done.stderr[-1000:])
        best, peak = min(best, float(seconds)), max(peak, int(rss_kb) * 1024)  # Linux gives kB
    return best, peak


def inside_run(archive: str | Path, repeat: int = 3) -> pd.DataFrame:
    """Time the kit's reader and dive on one saved archive: the fastest of ``repeat`` runs each, and peak memory."""
    path = Path(archive)
    if not path.is_file():
        raise KitError(f"There is no file {archive}.", "give the file `docker save IMAGE -o FILE` wrote.")
    path = path.resolve()
    dive = dive_binary()
    runs = [("kit: python -m helpers inspect (summary)", [sys.executable, "-m", "helpers", "inspect", str(path)]),
            ("kit: read + dive's figures (library)", [sys.executable, "-c", _READ_AND_DIVE, str(path)])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs.append((f"dive {DIVE_VERSION} --json", [dive, "--json", str(Path(tmp) / "dive.json"), "--source",
                                                     "docker-archive", str(path)]))
        for what, cmd in runs:
            seconds, rss = measure(cmd, repeat)
            rows.append({"what": what, "seconds": round(seconds, 3), "peak RSS (MB)": round(rss / 1e6, 1)})  # 3 places: a small archive takes milliseconds
    return pd.DataFrame(rows)


def inside_report(archive: str | Path, repeat: int = 3) -> str:
    """Return the reader-vs-dive benchmark of one archive as a text table, with what it ran on."""
    size = Path(archive).stat().st_size if Path(archive).is_file() else 0
    start = time.time()
    df = inside_run(archive, repeat)
    head = (f"inside benchmark {span_utc(start)}: {archive} ({size / 1e6:.0f} MB), "
            f"fastest of {max(1, repeat)} runs each, {os.cpu_count()} CPUs")
    return head + "\n" + df.to_string(index=False)
