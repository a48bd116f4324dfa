"""The benchmark: build times, rebuild times, sizes and layers per variant, printed as a table; and
the kit's image reader against dive on one saved archive (``inside_report``: no engine needed).

Numbers, not pass/fail: speed goals live here, never in timed tests.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from docker.errors import APIError

from . import bases, engine
from .appcopy import edited_app
from .bases import BaseState
from .builds import build
from .catalog import APP_DIR, REPO, VARIANTS, variant
from .cleanup import remove_repo
from .dive import DIVE_VERSION, dive_binary
from .errors import KitError
from .labels import image_tag, repo_of
from .progress import QuietProgress


def _cli_build_seconds(name: str, tag: str) -> float | None:
    """Time `docker build --no-cache` (classic builder) on the same Dockerfile and bases; None without the CLI."""
    if shutil.which("docker") is None:
        return None
    v = variant(name)
    args = []
    for arg, key in v.bases.items():
        args += ["--build-arg", f"{arg}={bases.resolve(arg, key).used}"]
    client = engine.client()
    dangling_before = {i.id for i in client.images.list(filters={"dangling": True})}
    started = time.monotonic()
    proc = subprocess.run(
        ["docker", "build", "--no-cache", "-q", "-f", str(v.path), "-t", tag, *args, str(APP_DIR)],
        env={**os.environ, "DOCKER_BUILDKIT": "0"},  # same engine (DOCKER_HOST, context), classic builder
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
    # The classic builder leaves each earlier stage as an untagged image: remove the ones this made.
    for image in client.images.list(filters={"dangling": True}):
        if image.id not in dangling_before:
            try:
                client.images.remove(image.id)
            except APIError:
                pass
    return round(seconds, 1) if proc.returncode == 0 else None


def run(names: list[str] | None = None, compare_cli: bool = True) -> pd.DataFrame:
    """Build each variant cold, then after a one-line edit of main.go; return the numbers."""
    rows = []
    for name in names or list(VARIANTS):
        cold = build(name, nocache=True, progress=QuietProgress())
        with tempfile.TemporaryDirectory() as tmp:
            rebuilt = build(name, context=edited_app(tmp, comment=True), progress=QuietProgress(),
                            tag=image_tag(f"bench-{name}"))
        cli = _cli_build_seconds(name, image_tag(f"bench-cli-{name}")) if compare_cli else None
        rows.append({
            "variant": name,
            "cold_build_s": round(cold.seconds, 1),
            "rebuild_after_main_go_s": round(rebuilt.seconds, 1),
            "image_mb": cold.size_mb,
            "layers": cold.fs_layers,
            "docker_cli_cold_s": cli,
        })
        # The rebuilt copy is only a measurement: remove it, keep the real variant image.
        remove_repo(repo_of(rebuilt.tag))
    return pd.DataFrame(rows)


def report(names: list[str] | None = None, compare_cli: bool = True) -> str:
    """Run the benchmark and return it as a text table, with where and when it ran."""
    info = engine.info()
    df = run(names, compare_cli)
    head = (f"benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {info.product} {info.version} "
            f"on {info.arch}, {'local equivalent' if any(b.state is BaseState.LOCAL for b in bases.status()) else 'official'} bases")
    return head + "\n" + df.to_string(index=False)


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
    df = inside_run(archive, repeat)
    head = (f"inside benchmark {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {archive} ({size / 1e6:.0f} MB), "
            f"fastest of {max(1, repeat)} runs each, {os.cpu_count()} CPUs")
    return head + "\n" + df.to_string(index=False)
