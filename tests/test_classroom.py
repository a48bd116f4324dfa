"""The room's progress (helpers/classroom.py): what a check records, and the instructor's table. Tests of
internals; the checks run in recorded mode, so no engine is needed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from helpers import classroom, lessons, source
from helpers.catalog import REPO


@pytest.fixture
def room(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_ROOM_DIR", str(tmp_path / "room"))
    monkeypatch.setenv("KIT_MODE", "recorded")
    source.use(None)
    yield tmp_path / "room"
    source.use(None)


def test_a_check_records_who_which_and_whether_it_passed(room, monkeypatch) -> None:
    results = source.current().build_all()
    monkeypatch.setenv("KIT_LEARNER", "alice")
    lessons.check_answer("04-smallest", "scratch-hardened", results)
    lessons.check_answer("04-smallest", None, results)  # not an attempt: nothing recorded
    monkeypatch.setenv("KIT_LEARNER", "bob")
    lessons.check_answer("04-smallest", "debian", results)
    found = classroom.attempts(room)
    assert [(a.learner, a.check, a.passed, a.mode) for a in found] == [
        ("alice", "04-smallest", True, "recorded"), ("bob", "04-smallest", False, "recorded")]
    assert sorted(p.name for p in room.iterdir()) == ["alice.jsonl", "bob.jsonl"]


def test_the_table_says_passed_tried_or_nothing_per_lesson(room) -> None:
    def add(who: str, check: str, passed: bool, at: float) -> classroom.Attempt:
        return classroom.Attempt(learner=who, at=at, lesson=check[:2], check=check, passed=passed, mode="live")

    found = [add("alice", "04-smallest", False, 1.0), add("alice", "04-smallest", True, 2.0),
             add("alice", "06-exercise", False, 3.0), add("bob", "01-size", True, 4.0)]
    table = classroom.progress_table(found).set_index("learner")
    assert table.loc["alice", "04"] == "passed" and table.loc["alice", "06"] == "tried"
    assert table.loc["alice", "01"] == "" and table.loc["bob", "01"] == "passed"
    assert table.loc["alice", "checks passed"] == 1 and table.loc["bob", "checks passed"] == 1
    assert table.loc["alice", "last check (UTC)"] == "00:00:03"
    chart = classroom.lessons_passed_chart(found)
    assert [list(bar.y) for bar in chart.data][0][4] == 1  # lesson 04: one learner passed


def test_a_damaged_line_is_skipped_and_an_unwritable_room_fails_no_lesson(room, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KIT_LEARNER", "carol")
    path = classroom.record("02-size", True, "live")
    with path.open("a") as f:
        f.write("{not json\n" + json.dumps({"learner": "carol"}) + "\n")
    assert [a.check for a in classroom.attempts(room)] == ["02-size"]
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert classroom.record("02-size", True, "live", folder=blocked / "room") is None


def test_the_room_command_prints_the_table(room, monkeypatch) -> None:
    monkeypatch.setenv("KIT_LEARNER", "dave")
    classroom.record("03-factor", True, "live")
    out = subprocess.run([sys.executable, "-m", "helpers", "room", "--dir", str(room)], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    assert "1 checks recorded" in out and "dave" in out and "passed" in out
