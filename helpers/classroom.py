"""The room's progress: what the kit records when a lesson's check runs, and the instructor's view of it.

A check (``check_answer``, ``check_exercise``) appends one line to its learner's file in the room's folder:
``KIT_ROOM_DIR`` (on a hub, a folder every learner's server may write to, the instructor reads), else
``~/.local/share/cms-daq-kit/room`` (a learner alone: their own record). The line is written by the kit
as the check runs against the learner's own measured results, so editing a notebook's text adds nothing
to it. It is not a signature: a learner who writes the file by hand can fake it (docs/INSTRUCTORS.md).

The instructor reads every learner's file: ``python -m helpers room`` prints the table, and
``room_view()`` shows the table and a chart that refresh in a notebook (notebooks/instructor.ipynb).
Recording never fails a lesson: a folder that cannot be written is skipped without a word.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .labels import learner

ROOM_VARIABLE = "KIT_ROOM_DIR"
ALONE = "(you)"  # the name a learner alone is recorded under
LESSONS = ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"]
#: How a lesson's cell reads in the room's table: every check passed, some ran but not all passed, none ran.
PASSED, TRIED, NOT_YET = "passed", "tried", ""


def room_dir() -> Path:
    """Return the folder the room's progress is kept in (``KIT_ROOM_DIR``, else this user's own)."""
    chosen = os.environ.get(ROOM_VARIABLE, "").strip()
    return Path(chosen) if chosen else Path.home() / ".local" / "share" / "cms-daq-kit" / "room"


@dataclass(frozen=True)
class Attempt:
    """One check as it ran: who, when, which lesson and question, and whether it passed."""

    learner: str
    at: float  # seconds since the epoch
    lesson: str  # "04"
    check: str  # "04-smallest", "06-exercise"
    passed: bool
    mode: str  # "live" or "recorded"


def record(check: str, passed: bool, mode: str, folder: Path | None = None) -> Path | None:
    """Append one attempt to this learner's file; return the file, or None where it could not be written."""
    who = learner() or ALONE
    attempt = Attempt(learner=who, at=round(time.time(), 3), lesson=check[:2], check=check, passed=passed, mode=mode)
    folder = folder or room_dir()
    path = folder / f"{_file_name(who)}.jsonl"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:  # one short line: appends from two kernels do not interleave
            f.write(json.dumps(asdict(attempt), sort_keys=True) + "\n")
    except OSError:
        return None
    return path


def _file_name(who: str) -> str:
    return "alone" if who == ALONE else who  # learner names are already safe file names (labels.learner_piece)


def attempts(folder: Path | None = None) -> list[Attempt]:
    """Read every learner's attempts in the room's folder, oldest first; a damaged line is skipped."""
    folder = folder or room_dir()
    found: list[Attempt] = []
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                found.append(Attempt(**_fields(json.loads(line))))
            except (ValueError, TypeError, KeyError):
                continue
    return sorted(found, key=lambda a: a.at)


def _fields(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError("not an attempt")
    return {k: raw[k] for k in Attempt.__dataclass_fields__}


def progress_table(found: list[Attempt]) -> pd.DataFrame:
    """Return one row per learner: per lesson passed / tried / blank, checks passed, and when last seen."""
    rows = []
    for who in sorted({a.learner for a in found}):
        mine = [a for a in found if a.learner == who]
        row: dict[str, object] = {"learner": who}
        for lesson in LESSONS:
            checks = {a.check for a in mine if a.lesson == lesson}
            passed = {a.check for a in mine if a.lesson == lesson and a.passed}
            row[lesson] = PASSED if checks and checks == passed else TRIED if checks else NOT_YET
        row["checks passed"] = len({a.check for a in mine if a.passed})
        row["last check (UTC)"] = time.strftime("%H:%M:%S", time.gmtime(max(a.at for a in mine)))
        row["recorded mode"] = "yes" if any(a.mode == "recorded" for a in mine) else "no"
        rows.append(row)
    columns = ["learner", *LESSONS, "checks passed", "last check (UTC)", "recorded mode"]
    return pd.DataFrame(rows, columns=columns)


def lessons_passed_chart(found: list[Attempt]) -> Any:
    """Return a plotly bar chart: per lesson, how many learners passed its checks and how many only tried."""
    import plotly.graph_objects as go

    table = progress_table(found)
    fig = go.Figure()
    for status, colour in [(PASSED, "#2e7d32"), (TRIED, "#f9a825")]:
        fig.add_bar(name=status, x=LESSONS, y=[int((table[lesson] == status).sum()) if len(table) else 0
                                               for lesson in LESSONS], marker_color=colour)
    fig.update_layout(barmode="stack", title=f"The room: {len(table)} learners", xaxis_title="lesson",
                      yaxis_title="learners", height=320, margin={"t": 40, "b": 40})
    return fig


def room_view(folder: Path | None = None, every: float = 30.0) -> Any:
    """Show the room's table and chart in a notebook, refreshed every ``every`` seconds and by a button."""
    import threading

    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.Output()
    stamp = widgets.HTML()
    button = widgets.Button(description="Refresh", icon="refresh")

    def redraw(*_: object) -> None:
        found = attempts(folder)
        with out:
            out.clear_output(wait=True)
            display(progress_table(found))
            display(lessons_passed_chart(found))
        stamp.value = (f"<small>{len(found)} checks from {room_dir() if folder is None else folder}, "
                       f"read {time.strftime('%H:%M:%S', time.gmtime())} UTC</small>")

    button.on_click(redraw)
    redraw()
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            redraw()

    if every > 0:
        threading.Thread(target=loop, daemon=True, name="kit-room-refresh").start()
    box = widgets.VBox([widgets.HBox([button, stamp]), out])
    box.stop = stop.set  # type: ignore[attr-defined]  # room_view(...).stop() ends the refreshing
    return box
