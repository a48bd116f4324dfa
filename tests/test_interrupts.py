"""Builds cut short, for real: Ctrl-C in the CLI, "Interrupt kernel" in a lesson, a step over the bound.

Each ends in one clear message, leaves no container or untagged image of the kit's, and the next
build works. Tests of internals.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import dangling_ids

from helpers import engine, store
from helpers.builders import PODMAN_STEP_WAIT
from helpers.builds import build
from helpers.catalog import REPO
from helpers.cleanup import remove_repo
from helpers.errors import BuildTimedOut
from helpers.progress import QuietProgress

pytestmark = pytest.mark.docker


def snapshot() -> tuple[set[str], set[str]]:
    """Return the ids of every container and of every untagged image on the engine."""
    c = engine.client()
    return {x.id for x in c.containers.list(all=True)}, dangling_ids(c)


#: How the kit names the step a build was on: "step 7/12 (RUN ..." (classic builder, Podman) or "step [3/6] RUN ..."
#: (BuildKit; "[build 3/6]" in a named stage).
STEP = r"step (\d+/\d+ \(|\[(?:[\w.-]+ )?\d+/\d+\] )"


def wait_for_line(proc: subprocess.Popen, needle: str, seconds: float) -> list[str]:
    """Read ``proc``'s stdout until a line holds ``needle``; fail naming it after ``seconds``."""
    lines: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"the build never printed {needle!r} within {seconds} s: {lines}")


def test_ctrl_c_in_the_cli_during_go_build(tmp_path: Path) -> None:
    before = snapshot()
    # As in a terminal, Ctrl-C reaches the command: a suite started in the background (`make test &`)
    # runs with SIGINT ignored, which every child would inherit, and then no Ctrl-C could be tested.
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "build", "debian", "--no-cache"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_line(proc, "go build", 120)
        time.sleep(1.0)  # inside the step: the compiler runs
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60 + PODMAN_STEP_WAIT)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    if engine.is_podman():  # Podman runs go build to its end: the kit says it waits for it, to remove what it leaves
        assert "Podman ends that step first: waiting for it" in out, out
    # The step by its instruction: the classic builder counts ARG lines as steps (7/12), Podman's Buildah does
    # not (6/11); BuildKit, the default on Docker, counts a stage's steps ([3/6]).
    assert "Traceback" not in err and err.startswith("error: "), err
    assert re.search(r"interrupted at " + STEP + r"RUN go build", err), err
    assert snapshot() == before, "the interrupted build left containers or untagged images"
    again = subprocess.run([sys.executable, "-m", "helpers", "build", "debian"], cwd=REPO, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and "cms-daq-workshop-debian:latest" in again.stdout, again.stderr


def test_a_step_over_the_bound_ends_naming_the_step(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("ARG BASE=alpine\nFROM ${BASE}\nRUN echo before\nRUN sleep 30\n")
    before = snapshot()
    started = time.monotonic()
    with pytest.raises(BuildTimedOut, match=r"bound of 3 s, at " + STEP + r"RUN sleep 30") as err:
        build("hangs", dockerfile=df, context=tmp_path, bases={"BASE": "alpine"}, nocache=True, timeout=3,
              progress=QuietProgress())
    assert time.monotonic() - started < 25  # the bound, plus the engine letting go of the step
    if engine.is_podman():  # it runs `sleep 30` to its end whatever the client does: the kit says so
        assert "Podman runs the step it was on to its end" in err.value.hint
        for image_id in snapshot()[1] - before[1]:  # what the step leaves goes once it ends, as the hint says
            assert store.remove_when_released(image_id, seconds=60)
    assert snapshot() == before
    remove_repo("cms-daq-workshop-hangs")


def test_interrupt_kernel_during_a_lesson_build() -> None:
    """A kernel runs a lesson's build; "Interrupt kernel" (SIGINT to the kernel) stops it with one line."""
    from jupyter_client.manager import start_new_kernel

    before = snapshot()
    km, kc = start_new_kernel(kernel_name="python3", env={**os.environ, "KIT_MODE": "live"})
    try:
        kc.execute_interactive("import helpers", timeout=60)
        msg_id = kc.execute('helpers.build("alpine", nocache=True)')
        deadline, seen = time.monotonic() + 120, ""
        while "go build" not in seen:  # the progress bar's label names the step as it starts
            assert time.monotonic() < deadline, f"the build never reached go build: {seen[-500:]}"
            msg = kc.get_iopub_msg(timeout=120)
            seen += str(msg["content"])
        time.sleep(1.0)
        km.interrupt_kernel()
        error, labels = None, ""
        while True:  # on Podman, the kit waits for the step it runs to its end (PODMAN_STEP_WAIT)
            msg = kc.get_iopub_msg(timeout=60 + PODMAN_STEP_WAIT)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            labels += str(msg["content"])
            if msg["msg_type"] == "error":
                error = msg["content"]
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        assert error is not None and error["ename"] == "BuildInterrupted", error
        assert len(error["traceback"]) <= 3 and "interrupted at step" in error["traceback"][0], error["traceback"]
        assert "stopped at step" in labels  # the bar says it stopped
        assert snapshot() == before
        reply = kc.execute_interactive('print(helpers.build("alpine").size_mb)', timeout=120)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
