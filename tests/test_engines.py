"""Engines as learners have them: remote ones, ones that refuse, none at all. Each gets its own diagnosis.

Tests of internals. The remote engine is a second dockerd in a network namespace of its own, reached
over tcp:// (tests/support.py); the refusing one is this machine's engine, asked by a user who may not
use its socket.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
import pytest
from docker.errors import APIError
from support import SpareEngine

from helpers import engine
from helpers.catalog import REPO
from helpers.container import RunningApp
from helpers.doctor import checks
from helpers.engine import Endpoint, diagnose
from helpers.errors import EngineRefused, EngineUnavailable

LEARNER = "kitlearner"


# --- the diagnoses, from the exceptions docker-py raises (parsing only: no engine) ---------------

@pytest.mark.parametrize("exc, url, kind, words", [
    (PermissionError(13, "Permission denied"), "unix:///var/run/docker.sock", EngineRefused, "docker group"),
    (APIError("400 Client Error: client version 1.45 is too new. Maximum supported API version is 1.41"),
     "unix:///var/run/docker.sock", EngineRefused, "API version"),
    (docker.errors.DockerException("Invalid bind address protocol: bogus://x"), "bogus://x", EngineRefused,
     "cannot use"),
    (ConnectionRefusedError(111, "Connection refused"), "tcp://10.0.0.9:2375", EngineRefused, "does not answer"),
    (FileNotFoundError(2, "No such file or directory"), "unix:///nowhere.sock", EngineUnavailable, "start Docker"),
])
def test_each_way_of_not_reaching_an_engine_has_its_diagnosis(exc, url, kind, words) -> None:
    err = diagnose(exc, Endpoint(url, "DOCKER_HOST"))
    assert type(err) is kind and words in str(err), str(err)


def test_where_ports_are_published() -> None:
    assert Endpoint("unix:///var/run/docker.sock", "x").published_host == "127.0.0.1"
    assert Endpoint("tcp://10.200.0.2:2375", "x").published_host == "10.200.0.2"
    assert Endpoint("ssh://me@build-host.example", "x").published_host == "build-host.example"


def test_the_current_docker_context_is_followed(tmp_path, monkeypatch) -> None:
    """Docker Desktop points the CLI at its engine with a context, not DOCKER_HOST."""
    meta = tmp_path / ".docker" / "contexts" / "meta" / hashlib.sha256(b"desktop").hexdigest()  # as the CLI names it
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text('{"Name": "desktop", "Metadata": {}, "Endpoints": {"docker": '
                                    '{"Host": "unix:///home/me/.docker/desktop/docker.sock", "SkipTLSVerify": false}}}')
    (tmp_path / ".docker" / "config.json").write_text('{"currentContext": "desktop"}')
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / ".docker"))
    ep = engine.endpoint()
    assert ep.url == "unix:///home/me/.docker/desktop/docker.sock" and "desktop" in ep.said_by


# --- for real ------------------------------------------------------------------------------------

def python_for(user: str | None) -> tuple[str, dict[str, str]]:
    """Return an interpreter ``user`` may run, and the PYTHONPATH that gives it the kit and its packages.

    The suite's own interpreter may live where only root can read (a pyenv under /root); the system's
    python3 of the same minor version can load the venv's packages.
    """
    if user is None:
        return sys.executable, {}
    system = shutil.which("python3", path="/usr/bin:/bin")
    minor = subprocess.run([system or "false", "-c", "import sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True).stdout.strip()
    if not system or minor != str(tuple(sys.version_info[:2])):
        pytest.fail(f"no system python3 of version {sys.version_info[:2]} for a non-root user (found {minor})")
    site = next(p for p in sys.path if p.endswith("site-packages"))
    return system, {"PYTHONPATH": f"{REPO}:{site}"}


def kit(*args: str, user: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m helpers ...` (or `python -c` with args starting "-c"), as ``user`` if given."""
    python, path = python_for(user)
    cmd = [python, *(args if args[0] == "-c" else ["-m", "helpers", *args])]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": tempfile.gettempdir(), "KIT_MODE": "", **path, **(env or {})})


@pytest.fixture
def learner_without_docker(docker_engine):
    """A user of this machine who is not in the docker group (the most common set-up mistake)."""
    if shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.fail("this test needs root and runuser, as `make test` and CI have")
    made = False
    try:
        pwd.getpwnam(LEARNER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", LEARNER],
                       check=True)
        made = True
    yield LEARNER
    if made:
        subprocess.run(["userdel", LEARNER], capture_output=True)


@pytest.mark.docker
def test_the_set_up_check_names_the_image_store(docker_engine) -> None:
    """The containerd image store measures, saves and caches differently: the kit says which one it faces.

    scripts/test-engine.sh says which store it started the engine with (KIT_EXPECT_IMAGE_STORE).
    """
    info = engine.info()
    expected = os.environ.get("KIT_EXPECT_IMAGE_STORE")
    if expected:
        assert info.image_store == expected
    assert info.image_store in ("classic", "containerd")
    said = next(c for c in checks().checks if c.what == "Docker engine")
    assert ("containerd image store" in said.found) == (info.image_store == "containerd"), said


@pytest.mark.docker
@pytest.mark.machine_engine
def test_a_user_who_may_not_use_the_socket_is_told_so(learner_without_docker) -> None:
    doctor = kit("doctor", user=learner_without_docker, env={"USER": learner_without_docker})
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert f"{learner_without_docker} may not use its socket" in doctor.stdout and "docker group" in doctor.stdout
    # Not a quiet switch to the recording: a lesson's first call is that error, with its fix.
    lesson = kit("-c", "import helpers\nprint(helpers.mode())\nhelpers.build('multistage')",
                 user=learner_without_docker)
    assert lesson.stdout.strip() == "live", lesson.stdout + lesson.stderr
    assert "EngineRefused" in lesson.stderr and "docker group" in lesson.stderr


@pytest.mark.docker
@pytest.mark.machine_engine
def test_a_docker_host_where_nothing_answers(docker_engine) -> None:
    doctor = kit("doctor", env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert doctor.returncode == 1 and "remote Docker engine at tcp://127.0.0.1:1" in doctor.stdout, doctor.stdout
    build = kit("build", "multistage", env={"DOCKER_HOST": "tcp://127.0.0.1:1"})
    assert build.returncode == 2 and "Traceback" not in build.stderr and "does not answer" in build.stderr


@pytest.fixture
def remote(built, docker_engine, monkeypatch):
    """A second engine in its own network namespace, reached over tcp://, with the multistage image."""
    eng = SpareEngine(Path(tempfile.mkdtemp(prefix="kit-r", dir="/tmp")), remote=True)
    try:
        eng.start()
        other = docker.DockerClient(base_url=eng.host, timeout=60)
        other.images.load(b"".join(docker_engine.images.get("cms-daq-workshop-multistage:latest").save(named=True)))
        monkeypatch.setenv("DOCKER_HOST", eng.host)
        yield eng
    finally:
        eng.stop()
        shutil.rmtree(eng.root, ignore_errors=True)


@pytest.mark.docker
@pytest.mark.machine_engine
def test_run_reaches_the_app_on_the_remote_engines_host(remote) -> None:
    with RunningApp("cms-daq-workshop-multistage:latest") as app:
        assert app.url.startswith(f"http://{remote.ENGINE_IP}:")
        assert app.greeting() == "Hello CMS DAQ Group!"
    disk = checks().get("Free disk for images")
    assert disk.ok and f"on {remote.ENGINE_IP}" in disk.found
