"""The lessons' "now in the terminal" cells (helpers/terminal.py): the workshop's commands, run as typed.

Tests of internals: they call the terminal module directly, with the real docker CLI and engine
where marked. The lessons themselves run these cells live and recorded through nbval.
"""

from __future__ import annotations

import socket

import pytest

from helpers import terminal
from helpers.errors import KitError
from helpers.recording import load
from helpers.terminal import CommandFailed, Placeholders, commands, notebook_cells, recording_key, run_live


def test_a_cell_is_split_into_commands() -> None:
    cell = "%%terminal\n# build it\ndocker build --tag x \\\n    -f Dockerfile .\n\ndocker image ls x\n"
    assert commands(cell) == ["docker build --tag x -f Dockerfile .", "docker image ls x"]


def test_every_lesson_command_is_recorded() -> None:
    """Binder replays each lesson command from the recording (kept as a learner alone types it): each must be there."""
    templates = [recording_key(c) for cells in notebook_cells().values() for cell in cells for c in commands(cell)]
    assert len(set(templates)) >= 30, templates  # lessons 01-06: 32 commands, curl shared
    recorded = load().terminal
    assert [t for t in templates if t not in recorded] == []
    assert all("Hello CMS DAQ Group!" in recorded[t]["output"] for t in templates if t.startswith("curl"))


@pytest.mark.docker
@pytest.mark.local_engine  # it holds 8082 on this machine: a remote engine publishes elsewhere
def test_a_taken_port_is_said_and_another_used(docker_engine) -> None:
    """With 8082 taken, the lesson says so in one line, and the app answers on the port it chose."""
    said: list[str] = []
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", terminal.SEED_PORT))
        except OSError:
            pass  # already taken by something else: the test holds all the same
        s.listen()
        ph = Placeholders(say=said.append)
        name = "kit-test-terminal-port"
        try:
            ran = run_live(f"docker run -d --name {name} -p {{port}}:8080 cms-daq-workshop-multistage\n"
                           "curl -s --retry 5 --retry-all-errors http://{host}:{port}", ph, echo=False)
        finally:
            run_live(f"docker rm -f {name}", ph, echo=False)
    assert ph.port() != terminal.SEED_PORT
    assert said == [f"Port 8082 is taken on localhost, so these commands use {ph.port()} instead."]
    assert f"-p {ph.port()}:8080" in ran[0].command and ran[1].output.strip() == "Hello CMS DAQ Group!"


@pytest.mark.docker
def test_a_failing_command_is_one_clear_error(docker_engine) -> None:
    with pytest.raises(CommandFailed, match="exit code") as err:
        run_live("docker image ls cms-daq-workshop-multistage\ndocker run --rm no-such-image-here:1", Placeholders(),
                 echo=False)
    assert "What to do" in str(err.value)


@pytest.mark.docker
def test_build_args_name_the_bases_this_engine_has(docker_engine) -> None:
    """Where the kit uses a local equivalent, the flag names it; the official image needs no flag."""
    from helpers.bases import resolve

    used = resolve("BUILDER_IMAGE", "golang-debian")
    flags = Placeholders().fill("{build-args:debian}")
    assert flags == ("" if not used.local_equivalent else f"--build-arg BUILDER_IMAGE={used.used}")
    # A Dockerfile's path, as lesson 06 writes it: its ARG lines' official images, as check_exercise reads them.
    assert Placeholders().fill("{build-args:exercise/Dockerfile}") == flags
    assert Placeholders().fill("{base:golang-debian}") == used.used


def test_a_placeholder_that_names_nothing_is_one_clear_error() -> None:
    for typo in ["{base:golang-typo}", "{build-args:no/Dockerfile}", "{build-args:debain}"]:
        with pytest.raises(KitError, match="names no") as err:
            Placeholders().fill(f"docker build {typo} .")
        assert err.value.hint.startswith("use one of")
