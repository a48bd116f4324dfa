"""The docker commands the kit's calls stand for: written exactly, and doing exactly what the kit did.

Tests of internals. The build command is run for real through the docker CLI: with the layer cache,
it must give the very image the kit built.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import engine
from helpers.builders import BuildRequest, ClassicBuilder
from helpers.builds import build
from helpers.catalog import APP_DIR, REPO
from helpers.commands import (
    build_command,
    image_list_command,
    load_command,
    remove_command,
    run_command,
    save_command,
    stop_command,
)
from helpers.container import RunningApp
from helpers.progress import QuietProgress


def test_a_build_command_reads_as_the_workshop_writes_it() -> None:
    request = BuildRequest(REPO / "dockerfiles" / "Dockerfile.multistage", APP_DIR, "cms-daq-workshop-multistage:latest",
                           {"BUILDER_IMAGE": "golang:1.19.3-alpine3.16"}, {"org.cms-daq-kit.managed": "true"},
                           target="build", nocache=True)
    assert build_command(request, ClassicBuilder().typed()) == (
        "DOCKER_BUILDKIT=0 docker build --tag cms-daq-workshop-multistage:latest -f dockerfiles/Dockerfile.multistage "
        "--build-arg BUILDER_IMAGE=golang:1.19.3-alpine3.16 --label org.cms-daq-kit.managed=true --target build "
        "--no-cache app")
    assert build_command(request, ["DOCKER_BUILDKIT=1", "/usr/bin/docker", "build"]).startswith(
        "DOCKER_BUILDKIT=1 /usr/bin/docker build --tag ")
    other = BuildRequest(Path("/tmp/my app/Dockerfile"), Path("/tmp/my app"), "x:1")
    assert build_command(other, ClassicBuilder().typed()).endswith("-f '/tmp/my app/Dockerfile' '/tmp/my app'")  # quoted for a shell


def test_run_and_stop_commands() -> None:
    assert run_command("cms-daq-workshop-multistage:latest", "cms-daq-simple-app-multi-stage", 8082) == \
        "docker run -d --name cms-daq-simple-app-multi-stage -p 8082:8080 cms-daq-workshop-multistage:latest"
    assert run_command("t:1", "n", None) == "docker run -d --name n -p 8080 t:1"
    assert stop_command("n") == "docker rm -f n"


def test_bundle_and_clean_commands() -> None:
    assert save_command("/tmp/room bases.tar", ["localhost/kit-local/busybox:latest", "scratch"]) == \
        "docker save -o '/tmp/room bases.tar' localhost/kit-local/busybox:latest scratch"
    assert load_command("bases.tar") == "docker load -i bases.tar"
    assert remove_command(["c1"], ["cms-daq-workshop-debian:latest"]) == \
        "docker rm -f c1 && docker image rm cms-daq-workshop-debian:latest"
    assert remove_command([], ["a:1"]) == "docker image rm a:1" and remove_command([], []) == ""


@pytest.mark.docker
# On Podman the kit writes its labels into the Dockerfile (Podman 4.3 applies --label flags as LABEL steps in a
# random order), so the printed command builds an equal image under another id there.
@pytest.mark.docker_only
def test_the_printed_build_command_builds_the_same_image(built) -> None:
    if shutil.which("docker") is None:
        pytest.fail("no docker CLI: `make test` installs Debian's docker.io")
    r = build("multistage", progress=QuietProgress())  # with this engine's default builder (BuildKit on Docker)
    client = engine.client()
    client.api.remove_image(r.tag, noprune=True)  # the command must make the tag again (the cache stays)
    proc = subprocess.run(r.command, shell=True, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert client.images.get(r.tag).id == r.image_id, (r.command, proc.stdout[-1500:])


@pytest.mark.docker
def test_a_running_app_says_its_docker_run(built) -> None:
    with RunningApp(built["multistage"]) as app:
        assert app.command == f"docker run -d --name {app.name} -p {app.host_port}:8080 {built['multistage'].tag}"


@pytest.mark.docker
# Podman's image list filter returns every tag of an image one tag matches (multistage's build stage is also
# alpine-runtime's), so the CLI prints a line for each; Docker returns the matching tags only.
@pytest.mark.docker_only
def test_the_image_list_command_lists_exactly_these_images(built) -> None:
    """One image: the workshop's `docker image ls NAME`; more: one filter each. The CLI must list just them."""
    assert image_list_command([built["debian"].tag]) == "docker image ls cms-daq-workshop-debian"
    tags = [built["debian"].tag, built["multistage"].tag]
    proc = subprocess.run(image_list_command(tags) + " --format '{{.Repository}}:{{.Tag}}'", shell=True,
                          capture_output=True, text=True, timeout=60, check=True)
    listed = set(proc.stdout.split())
    assert set(tags) <= listed and all(x.startswith(("cms-daq-workshop-debian:", "cms-daq-workshop-multistage:"))
                                       for x in listed), listed
