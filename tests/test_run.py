"""Running every variant: the greeting comes back, docker stop is quick, non-root where promised."""

from __future__ import annotations

import socket

import pytest

from helpers import VARIANTS, run
from helpers.cleanup import kit_containers
from helpers.errors import BaseImageMissing, PortInUse

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
