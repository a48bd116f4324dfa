"""A pytest plugin for an nbval pass run in a subprocess: it notes what each lesson showed a learner.

nbval checks that every cell runs and that tagged outputs match, but it cannot say which mode a lesson's
kernel ran in (a checked output must match in the live pass too). This plugin reads each cell's outputs
as nbval received them and writes, per notebook, whether any showed the "Recorded results" banner, to
the JSON file named by ``KIT_NB_SHOWN``. tests/test_notebooks.py loads it with ``-p nbshown``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

BANNER = "<b>Recorded results.</b>"
_shown: dict[str, bool] = {}


def _text(output: dict) -> str:
    data = output.get("data") or {}
    return str(data.get("text/html", "")) + str(data.get("text/plain", "")) + str(output.get("text", ""))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    yield
    if call.when != "call":
        return
    name = Path(str(item.path)).name
    outputs = getattr(item, "test_outputs", None) or []
    _shown[name] = _shown.get(name, False) or any(BANNER in _text(o) for o in outputs)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    out = os.environ.get("KIT_NB_SHOWN")
    if out:
        Path(out).write_text(json.dumps(_shown, indent=1, sort_keys=True))
