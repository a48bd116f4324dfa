"""The lessons: small, stripped and honestly marked in git; shaped as short cells with a sentence after
each; runnable with no engine at all (recorded mode, and provably so); and a kit error in a lesson cell
fails nbval with its one-line message. Tests of internals: they import the kit's modules and
scripts/nbstrip.py, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbval.plugin import comment_markers, get_sanitize_patterns

from helpers.catalog import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SANITIZE = REPO / "notebooks" / "sanitize.cfg"
_spec = importlib.util.spec_from_file_location("nbstrip", REPO / "scripts" / "nbstrip.py")
nbstrip = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nbstrip)
CHECK_TAG, MARKER = nbstrip.CHECK_TAG, nbstrip.MARKER


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def sanitize(text: str) -> str:
    """Apply notebooks/sanitize.cfg exactly as nbval does (its own parser, its order, re.sub)."""
    for regex, replace in get_sanitize_patterns(SANITIZE.read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_the_lessons_are_numbered_and_complete() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_small_stripped_and_checks_something(path) -> None:
    assert path.stat().st_size < 20_000, "over 20 kB: run scripts/nbstrip.py"
    code = code_cells(path)
    for c in code:
        # nbval markers are cell tags: a comment marker (`# NBVAL_CHECK_OUTPUT`) must not come back.
        comments = {ln.strip().lstrip("#").strip() for ln in c.source.splitlines() if ln.strip().startswith("#")}
        assert not comments & set(comment_markers), f"use the cell tag {CHECK_TAG}, not a comment:\n{c.source}"
        if nbstrip.is_checked(c):
            assert c.outputs and c.execution_count, f"checked cells need their real outputs:\n{c.source}"
        else:
            assert c.execution_count is None and not c.outputs, f"run scripts/nbstrip.py:\n{c.source}"
    assert any("assert " in c.source for c in code), "every lesson asserts on its measured results"
    assert "plotly.js" not in path.read_text()
    # The lessons import the kit's helpers and nothing else of ours.
    for c in code:
        for line in c.source.splitlines():
            if line.startswith(("import ", "from ")):
                assert line.strip() == "import helpers", line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_stored_output_says_it_is_the_kits_run(path) -> None:
    """A learner who opens a lesson sees, on each stored output's first line, that it is not theirs."""
    for c in code_cells(path):
        for out in c.outputs:
            assert out.output_type == "stream", f"a checked cell prints (stream); this one shows a {out.output_type}"
            assert out.text.startswith(MARKER + "\n"), f"stored output without the marker:\n{out.text}"


def test_the_sanitizer_drops_the_marker_and_masks_no_measured_fact() -> None:
    stored = [o.text for p in NOTEBOOKS for c in code_cells(p) for o in c.outputs]
    assert stored, "no lesson checks an output?"
    for text in stored:
        live = text.removeprefix(MARKER + "\n")  # what a run prints: no marker
        assert sanitize(text) == sanitize(live) and MARKER not in sanitize(text), text
    # Sizes and factors are facts: no section may mask them (the old [sizes] and [factors] did).
    for fact in ["760.18 MB", "6.52MB", "865 MB", "x117", "117x", "x1.6"]:
        assert sanitize(f"it is {fact} here") == f"it is {fact} here", fact
    assert "[sizes]" not in SANITIZE.read_text() and "[factors]" not in SANITIZE.read_text()
    # What truly varies between two honest runs still is.
    assert sanitize("sha256:" + "0123456789ab" * 5 + "cdef") == "IMAGE-ID"
    assert sanitize("built in 7.3 s on 127.0.0.1:49153, 2026-11-27 18:43 UTC") == \
        "built in SECONDS on HOST:PORT, DATE"
    assert sanitize("docker run -d --name cms-daq-kit-0f3a9c1e -p 8080 cms-daq-workshop-debian") == \
        "docker run -d --name cms-daq-kit-NAME -p 8080 cms-daq-workshop-debian"


def test_nbstrip_keeps_marked_outputs_of_tagged_cells_only() -> None:
    nb = nbformat.v4.new_notebook()
    checked = nbformat.v4.new_code_cell('print("a")', execution_count=1, metadata={"tags": [CHECK_TAG]},
                                        outputs=[nbformat.v4.new_output("stream", name="stdout", text="a\n"),
                                                 nbformat.v4.new_output("stream", name="stdout", text="b\n")])
    plain = nbformat.v4.new_code_cell("1", execution_count=2,
                                      outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "1"})])
    nb.cells = [checked, plain]
    once = nbstrip.strip(nb)
    twice = nbstrip.strip(once)  # stripping again (without a new run) must not mark twice
    assert [o.text for o in twice.cells[0].outputs] == [f"{MARKER}\na\nb\n"]
    assert twice.cells[1].outputs == [] and twice.cells[1].execution_count is None
    for bad in ["# NBVAL_CHECK_OUTPUT\nprint(1)", "print(1)\n  #  NBVAL_IGNORE_OUTPUT"]:
        nb.cells = [nbformat.v4.new_code_cell(bad)]
        with pytest.raises(nbstrip.StripError, match="comment marker"):
            nbstrip.strip(nb)
    shows_a_value = nbformat.v4.new_code_cell("1", execution_count=3, metadata={"tags": [CHECK_TAG]},
                                              outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "1"})])
    nb.cells = [shows_a_value]
    with pytest.raises(nbstrip.StripError, match="prints its verdict"):
        nbstrip.strip(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_is_short_cells_each_followed_by_a_sentence(path) -> None:
    """d2l style: short code cells, a sentence after each, a Summary, then Exercises that are checked."""
    cells = nbformat.read(path, as_version=4).cells
    for i, c in enumerate(cells):
        if c.cell_type != "code":
            continue
        lines = [ln for ln in c.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
        assert len(lines) <= 6, f"a code cell of {len(lines)} lines (at most 6):\n{c.source}"
        assert i + 1 < len(cells) and cells[i + 1].cell_type == "markdown", \
            f"say in a sentence what to see in the output of:\n{c.source}"
    headings = [ln for c in cells if c.cell_type == "markdown" for ln in c.source.splitlines() if ln.startswith("## ")]
    assert headings[-2:] == ["## Summary", "## Exercises"], headings
    number = path.name[:2]
    if number != "06":  # lesson 06 is the big exercise: its checker is check_exercise
        last = [c for c in cells if c.cell_type == "code"][-1].source
        assert last.startswith("answer = None  # replace None with your answer\n"), last
        assert f'helpers.check_answer("{number}-' in last, last


def recorded_env(tmp_path) -> dict[str, str]:
    """Recorded mode forced, and no engine to fall back on: DOCKER_HOST at a socket that does not exist."""
    return {**os.environ, "KIT_MODE": "recorded", "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}


def test_lessons_run_with_no_engine_from_the_recording(tmp_path) -> None:
    """nbval on every lesson in recorded mode: every cell runs, every checked output matches the stored one,
    and each lesson shows a learner the "Recorded results" banner.

    nbval cannot say which mode a kernel ran in, and a checked output cannot say it either (it must match in
    the live pass too): the plugin tests/nbshown.py reads each cell's outputs as nbval received them.
    Not in the background beside another test: two processes starting kernels at once race for their
    ports (jupyter_client picks free ones, then the kernel binds them), and a kernel died on "Address already
    in use" in one run of make test (2026-11-30)."""
    shown = tmp_path / "shown.json"
    env = {**recorded_env(tmp_path), "KIT_NB_SHOWN": str(shown),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "tests"), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "nbshown", "--nbval-lax",
         "--nbval-current-env", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "notebooks"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "skipped" not in proc.stdout.splitlines()[-1]
    banner = {name: seen for name, seen in json.loads(shown.read_text()).items() if name[:2].isdigit()}
    assert sorted(banner) == [p.name for p in NOTEBOOKS], "nbval did not run every lesson"
    assert [name for name, seen in banner.items() if not seen] == [], "lessons with no recorded-results banner"


def test_a_kit_error_in_a_lesson_cell_fails_nbval_with_its_one_line_message(tmp_path) -> None:
    """A lesson that demonstrates an error must catch it: an uncaught KitError fails the cell, for nbval
    as for a learner, and shows its one-line message instead of a traceback."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('import helpers\nhelpers.build("no-such-variant")')]
    nbformat.write(nb, tmp_path / "scratch.ipynb")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "--color=no", "scratch.ipynb"],
        cwd=tmp_path, env=recorded_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]  # 1: a test failed (not 0, nor a usage or collection error)
    assert "1 failed" in out.splitlines()[-1], out[-3000:]
    assert "error (UnknownVariant): There is no image variant called 'no-such-variant'" in out, out[-3000:]
    assert "Traceback (most recent call last)" not in out, out[-3000:]


def test_the_live_pass_fails_when_no_engine_answers(tmp_path) -> None:
    """The live pass runs with KIT_MODE=live (tests/conftest.py): with no engine, a lesson must fail, not
    quietly show the recording. Lesson 01 is run so, against a socket that does not exist, up to its first
    failing cell (-x: each later cell would fail the same way, for 30 s more)."""
    env = {**recorded_env(tmp_path), "KIT_MODE": "live"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "--color=no", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "-x", "notebooks/01-debian-single-stage.ipynb"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "No Docker engine answered" in out, out[-3000:]
