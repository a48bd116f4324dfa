"""The command line, run as a learner would: doctor, images, sizes, build --target.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import pytest
from test_bad_input import cli

from helpers import engine
from helpers.catalog import VARIANTS

pytestmark = pytest.mark.docker


def test_doctor_reports_ready() -> None:
    proc = cli("doctor")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Architecture" in proc.stdout and "Ready:" in proc.stdout and "FAIL" not in proc.stdout


def test_images_is_idempotent() -> None:
    proc = cli("images", "--offline")
    assert proc.returncode == 0 and "missing" not in proc.stdout
    assert "Pulling" not in proc.stdout and "Making" not in proc.stdout


def test_sizes_prints_every_variant(built) -> None:
    proc = cli("sizes")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout[proc.stdout.index("variant"):]
    for name in VARIANTS:
        assert f"\n{name} " in "\n" + table or f" {name} " in table


def test_run_prints_the_greeting(built) -> None:
    proc = cli("run", "distroless")
    assert proc.returncode == 0, proc.stderr
    assert "answered: Hello CMS DAQ Group!" in proc.stdout and "stopped and removed" in proc.stdout


@pytest.mark.docker_only  # BuildKit goes through the Docker CLI, which builds only on a Docker engine
def test_build_with_either_builder_from_the_command_line(built) -> None:
    proc = cli("build", "multistage")  # BuildKit: the default on a Docker engine with a BuildKit CLI
    assert proc.returncode == 0, proc.stderr
    assert "FINISHED" in proc.stdout and "[build] RUN CGO_ENABLED=0 go build" in proc.stdout, proc.stdout
    assert "cms-daq-workshop-multistage:latest: 6." in proc.stdout
    proc = cli("build", "multistage", "--builder", "classic")
    assert proc.returncode == 0, proc.stderr
    assert "FINISHED" not in proc.stdout and "cms-daq-workshop-multistage:latest: 6." in proc.stdout, proc.stdout
    proc = cli("build", "multistage")  # back to BuildKit's image, the one the rest of the suite's `built` holds
    assert proc.returncode == 0, proc.stderr


def test_the_engine_and_its_builders_are_named_as_they_are() -> None:
    """doctor names the engine (Podman is not "Docker 4.3.1") and the builder that builds by default, and why."""
    info = engine.info()
    doctor = cli("doctor")
    assert f"{info.product} {info.version}" in doctor.stdout, doctor.stdout
    engine_line = next(x for x in doctor.stdout.splitlines() if "Docker engine" in x)
    if not info.is_podman:
        assert "Podman" not in engine_line, engine_line  # (the scratch line names both engines)
        assert "BuildKit builds by default: through " in doctor.stdout, doctor.stdout
        return
    assert "classic builds by default: Podman has no BuildKit" in doctor.stdout, doctor.stdout
    proc = cli("build", "multistage", "--builder", "buildkit")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("error: BuildKit builds need a Docker engine: this engine is Podman"), proc.stderr
