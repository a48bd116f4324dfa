"""Lesson 06's checker: the starting Dockerfile must fail it, the solution must pass it,
and a Dockerfile whose container cannot start is told the real cause. (Tests of internals.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.catalog import REPO
from helpers.exercise import EXERCISE_TARGET_MB, check_dockerfile

pytestmark = pytest.mark.docker


def test_the_starting_dockerfile_fails_the_check() -> None:
    report, _ = check_dockerfile(REPO / "notebooks" / "exercise" / "Dockerfile")
    assert not report.passed
    assert report.get("the image builds").ok and report.get("answers").ok
    assert not report.get("smaller than 10 MB").ok and not report.get("runs as a non-root user").ok
    assert "what to do: " in str(report)


def test_the_solution_passes_the_check() -> None:
    report, result = check_dockerfile(REPO / "solutions" / "06-exercise" / "Dockerfile")
    assert report.passed, str(report)
    assert result is not None and result.size_bytes < EXERCISE_TARGET_MB * 1e6


def test_a_shell_form_cmd_in_scratch_names_the_real_cause(tmp_path: Path) -> None:
    """USER is there, but CMD in shell form needs /bin/sh, which scratch lacks: say that, not "add USER"."""
    text = (REPO / "solutions" / "06-exercise" / "Dockerfile").read_text()
    df = tmp_path / "exercise" / "Dockerfile"
    df.parent.mkdir()
    df.write_text(text.replace('ENTRYPOINT ["/cms-daq-simple-app"]', "CMD /cms-daq-simple-app"))
    report, _ = check_dockerfile(df)
    answers, nonroot = report.get("answers"), report.get("runs as a non-root user")
    assert not answers.ok and "did not start" in answers.found and "/bin/sh" in answers.found
    assert "exec form" in answers.hint
    assert nonroot.ok and "65532" in nonroot.found
