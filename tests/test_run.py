"""Running every variant: the greeting comes back, docker stop is quick, non-root where promised.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import socket

import pytest

from helpers.builds import build
from helpers.catalog import VARIANTS
from helpers.cleanup import kit_containers, remove_repo
from helpers.container import RunningApp as run
from helpers.errors import BaseImageMissing, ContainerFailed, PortInUse
from helpers.progress import QuietProgress

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_answers_the_greeting_and_stops_quickly(built, name: str) -> None:
    with run(built[name]) as app:
        assert app.greeting() == "Hello CMS DAQ Group!"
        assert app.get("/healthz") == "ok"
        uids = app.process_uids()
    assert app.stop_seconds is not None and app.stop_seconds < 2.0
    if VARIANTS[name].nonroot:
        assert built[name].nonroot and uids and all(u != "0" for u in uids)


def test_containers_are_removed_even_when_the_block_fails(built) -> None:
    with pytest.raises(RuntimeError):
        with run(built["multistage"]) as app:
            name = app.name
            raise RuntimeError("a learner's cell failed")
    assert name not in [c.name for c in kit_containers()]


@pytest.mark.local_engine  # a remote engine publishes on its own host, where this port is free
def test_port_in_use_is_one_clear_error(built) -> None:
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        before = len(kit_containers())
        with pytest.raises(PortInUse, match=f"Port {port}"):
            run(built["multistage"], host_port=port).start()
        assert len(kit_containers()) == before


def test_port_taken_by_another_container_is_one_clear_error(built) -> None:
    with run(built["multistage"]) as first:
        before = len(kit_containers())
        with pytest.raises(PortInUse):
            run(built["multistage"], host_port=first.host_port).start()
        assert len(kit_containers()) == before


def test_running_an_image_that_does_not_exist_says_so() -> None:
    with pytest.raises(BaseImageMissing, match="build it first"):
        run("cms-daq-workshop-no-such-image:latest").start()


def test_a_container_that_exits_at_once_is_one_clear_error(tmp_path, docker_engine) -> None:
    """A binary that cannot start (here: exits 3) shows its logs, not a KeyError, and is removed."""
    df = tmp_path / "Dockerfile.crash"
    df.write_text('ARG RUNTIME_IMAGE=alpine:3.16\nFROM ${RUNTIME_IMAGE}\n'
                  'ENTRYPOINT ["sh", "-c", "echo cannot start: no such file >&2; exit 3"]\n')
    r = build("crash", dockerfile=df, bases={"RUNTIME_IMAGE": "alpine"}, progress=QuietProgress())
    try:
        before = len(kit_containers())
        with pytest.raises(ContainerFailed, match="exited \\(code 3\\)") as err:
            run(r).start()
        assert "cannot start: no such file" in err.value.detail
        assert len(kit_containers()) == before
    finally:
        remove_repo(r.tag.rsplit(":", 1)[0])


def test_two_lessons_at_once_do_not_collide(built) -> None:
    """Two notebooks building and running the same variant at the same time: both work, ports differ."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    both_running = threading.Barrier(2, timeout=120)

    def build_and_greet(_: int) -> tuple[int, str]:
        r = build("multistage", progress=QuietProgress())
        with run(r) as app:
            both_running.wait()  # the two containers are up at the same time
            return app.host_port, app.greeting()

    with ThreadPoolExecutor(max_workers=2) as pool:
        (port_a, hello_a), (port_b, hello_b) = pool.map(build_and_greet, [1, 2])
    assert hello_a == hello_b == "Hello CMS DAQ Group!"
    assert port_a != port_b
