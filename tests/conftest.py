"""Shared fixtures: a real engine for tests marked ``docker``, built variants, and a leftovers check.

Tests marked ``docker`` run against a real Docker engine. Without one they are skipped on a
learner's machine, but fail in CI (CI=true) or under `make test` (KIT_REQUIRE_ENGINE=1): a skipped
integration test there would hide a missing set-up step.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile

import pytest
from support import dangling_ids, required

from helpers import engine
from helpers.progress import QuietProgress

# The suite runs as a learner alone, even inside a JupyterHub (JUPYTERHUB_USER set): tests that need a
# learner set one themselves (tests/test_learners*.py).
os.environ["KIT_LEARNER"] = ""
# The checks the suite runs (and the lessons' kernels, which inherit this) record into a room of their own,
# never into the machine's user's (helpers/classroom.py); it goes at the end.
ROOM = tempfile.mkdtemp(prefix="kit-room-")
os.environ["KIT_ROOM_DIR"] = ROOM


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("docker"):
            item.fixturenames.insert(0, "docker_engine")
    items.sort(key=lambda i: bool(i.get_closest_marker("runs_last")))


# Where an engine is required, the lessons' nbval pass (notebooks/, in this process's kernels) must run
# live: the mode is set, not guessed, so a missing or refusing engine fails it instead of quietly
# showing the recording. tests/test_notebooks.py sets KIT_MODE=recorded for its own pass.
if required():
    os.environ["KIT_MODE"] = "live"


@pytest.fixture(scope="session")
def docker_engine():
    """Return a Docker client; skip (learner) or fail (CI, make test) when no engine answers."""
    if not engine.available():
        msg = "no Docker engine answers: run `make test` (it starts one) or start Docker"
        if required():
            pytest.fail(msg)
        pytest.skip(msg)
    return engine.client()


@pytest.fixture(scope="session")
def built(docker_engine):
    """Build every catalog variant once for the session (cached layers make repeats quick)."""
    from helpers.builds import build
    from helpers.catalog import VARIANTS

    return {name: build(name, progress=QuietProgress()) for name in VARIANTS}


@pytest.fixture
def edited_app(tmp_path):
    """Return a maker of copies of app/ with main.go edited: ``edited_app(replace=(old, new))`` or ``comment=True``."""
    from helpers.appcopy import edited_app as make

    made = iter(range(1_000))
    return lambda **edit: make(tmp_path / f"copy-{next(made)}", **edit)


def _snapshot() -> tuple[set[str], set[str]]:
    c = engine.client()
    containers = {x.id for x in c.containers.list(all=True)}
    return containers, dangling_ids(c)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def pytest_configure(config: pytest.Config) -> None:
    """Stop on SIGINT or SIGTERM as on Ctrl-C: pytest then tears its fixtures down (containers, images).

    `make test` stops a part past its time limit with SIGINT (scripts/test-all.sh). A shell that started
    the run in the background may have set SIGINT to be ignored, which Python then keeps: the handler is
    set here whatever it was. SIGTERM's default would end the run with no clean-up at all.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._kit_before = _snapshot() if engine.available() else None  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if it left containers or untagged images behind."""
    before = getattr(session.config, "_kit_before", None)
    if before is None or not engine.available():
        return
    containers, dangling = _snapshot()
    new_containers = containers - before[0]
    new_dangling = dangling - before[1]
    if new_containers or new_dangling:
        c = engine.client()
        names = [c.containers.get(x).name for x in new_containers]
        print(f"\nLEFTOVERS: the suite left containers {names} and untagged images {sorted(new_dangling)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        print("\nleftovers check: no container and no untagged image left behind")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(ROOM, ignore_errors=True)  # the suite's own room (KIT_ROOM_DIR, above)
