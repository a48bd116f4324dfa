"""An engine that dies mid-build, for real: a spare dockerd killed with SIGKILL while a step runs.

The build ends in one clear message, the kit notices the engine is gone, `clean` removes what the
build left once the engine is back, and the next build works in the same process. Tests of internals.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from pathlib import Path

import docker
import pytest
from support import SpareEngine

from helpers import cleanup, engine
from helpers.buildkit import find_cli
from helpers.builds import build
from helpers.catalog import BASES
from helpers.errors import EngineUnavailable

pytestmark = [pytest.mark.docker, pytest.mark.machine_engine]

BASE = BASES["alpine"].local or ""


class StepWatcher:
    """A progress that lets the test know when a given step starts."""

    def __init__(self, needle: str) -> None:
        self.needle, self.started = needle, threading.Event()

    def step(self, n: int, total: int, instruction: str) -> None:
        if self.needle in instruction:
            self.started.set()

    def line(self, text: str) -> None:
        pass

    def close(self, ok: bool, summary: str) -> None:
        self.summary = summary


@pytest.fixture
def spare(docker_engine, monkeypatch):
    """A second engine with the kit's busybox base loaded, made the kit's engine for this test."""
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd is not installed: `make test` installs it (scripts/engine-up.sh)")
    # A short path: containerd's sockets live under it, and a unix socket path has a 108-byte limit.
    eng = SpareEngine(Path(tempfile.mkdtemp(prefix="kit-e", dir="/tmp")))
    eng.start()
    try:
        other = docker.DockerClient(base_url=eng.host, timeout=60)
        other.images.load(b"".join(docker_engine.images.get(BASE).save(named=True)))
        monkeypatch.setenv("DOCKER_HOST", eng.host)
        yield eng
    finally:
        eng.stop()
        shutil.rmtree(eng.root, ignore_errors=True)


@pytest.mark.parametrize("builder", ["buildkit", "classic"])
def test_an_engine_killed_mid_build(spare, tmp_path, builder: str) -> None:
    if builder == "buildkit" and find_cli() is None:  # a spare dockerd: a Docker engine, so BuildKit is its default
        pytest.fail("no Docker CLI with BuildKit: `make test` installs Debian's docker.io, whose CLI has it")
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo one > /one\nRUN sleep 30\n")
    watcher = StepWatcher("sleep 30")
    outcome: dict[str, BaseException] = {}

    def building() -> None:
        try:
            build("dies", dockerfile=tmp_path / "Dockerfile", context=tmp_path, nocache=True, progress=watcher,
                  builder=builder)
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    client = engine.client()
    images_before = {r["Id"] for r in client.api.images(all=True)}
    containers_before = {c.id for c in client.containers.list(all=True)}
    t = threading.Thread(target=building)
    t.start()
    assert watcher.started.wait(60), f"the build never reached its `RUN sleep 30` step: {outcome}"
    time.sleep(1.0)
    spare.kill()
    t.join(60)
    assert not t.is_alive(), "the build did not end after its engine died"
    err = outcome.get("error")
    assert isinstance(err, EngineUnavailable) and "stopped answering while building" in err.what, repr(err)
    assert "stopped at step" in watcher.summary
    assert not engine.available()

    spare.start()
    assert engine.available()
    left_containers, left_images = cleanup.build_leftovers()
    if builder == "classic":  # its step containers and images
        assert left_containers or left_images, "the killed build left nothing? then this test tests nothing"
    else:  # BuildKit keeps a killed build's state to itself: the engine lists nothing new, not even untagged
        client = engine.client()
        assert {r["Id"] for r in client.api.images(all=True)} == images_before
        assert {c.id for c in client.containers.list(all=True)} == containers_before
    report = cleanup.clean()
    assert cleanup.build_leftovers() == ([], [])
    assert report.containers or report.images or builder == "buildkit"
    (tmp_path / "Dockerfile").write_text(f"FROM {BASE}\nRUN echo two > /two\n")
    r = build("dies", dockerfile=tmp_path / "Dockerfile", context=tmp_path, progress=watcher, builder=builder)
    assert r.image_id.startswith("sha256:")
    cleanup.clean()
