"""The lessons: small and stripped in git, and runnable with no engine at all (recorded mode)."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest

from helpers.catalog import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CHECK = "# NBVAL_CHECK_OUTPUT"


def test_the_lessons_are_numbered_and_complete() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["00", "01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_small_stripped_and_checks_something(path) -> None:
    assert path.stat().st_size < 1_000_000
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is None for c in code if CHECK not in c.source)
    assert all(not c.outputs for c in code if CHECK not in c.source), "run scripts/nbstrip.py"
    assert all(c.outputs for c in code if CHECK in c.source), "checked cells need their real outputs"
    assert any("assert " in c.source for c in code), "every lesson asserts on its measured results"
    assert "plotly.js" not in path.read_text()
    # The lessons import the kit's helpers and nothing else of ours.
    for c in code:
        for line in c.source.splitlines():
            if line.startswith(("import ", "from ")):
                assert line.strip() == "import helpers", line


def test_lessons_run_with_no_engine_from_the_recording(tmp_path) -> None:
    """Run nbval on every lesson with DOCKER_HOST pointing at a socket that does not exist."""
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock", "KIT_MODE": ""}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
         "--nbval-sanitize-with", "notebooks/sanitize.cfg", "notebooks"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "skipped" not in proc.stdout.splitlines()[-1]
