"""Lesson 06's checker: the starting Dockerfile must fail it, the solution must pass it."""

from __future__ import annotations

import pytest

from helpers import lessons
from helpers.catalog import REPO

pytestmark = pytest.mark.docker


def test_the_starting_dockerfile_fails_the_check(capsys) -> None:
    report = lessons.check_exercise(REPO / "notebooks" / "exercise" / "Dockerfile")
    assert report is not None and not report.passed
    goals = {goal.split(" (")[0]: ok for goal, ok, _ in report.checks}
    assert goals["the image builds"] and goals["answers 'Hello CMS DAQ Group!' on port 8080"]
    assert not goals["smaller than 10 MB"] and not goals["runs as a non-root user"]
    assert "try: " in capsys.readouterr().out


def test_the_solution_passes_the_check() -> None:
    report = lessons.check_exercise(REPO / "solutions" / "06-exercise" / "Dockerfile")
    assert report is not None and report.passed, str(report)
    assert report.size_mb is not None and report.size_mb < lessons.EXERCISE_TARGET_MB
