"""The benchmark: build times, rebuild times, sizes and layers per variant, printed as a table.

Numbers, not pass/fail: speed goals live here, never in timed tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

import pandas as pd
from docker.errors import APIError

from . import bases, engine
from .appcopy import edited_app
from .bases import BaseState
from .builds import build
from .catalog import APP_DIR, VARIANTS, variant
from .cleanup import remove_repo
from .labels import repo_of
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
                            tag=f"cms-daq-workshop-bench-{name}:latest")
        cli = _cli_build_seconds(name, f"cms-daq-workshop-bench-cli-{name}:latest") if compare_cli else None
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

