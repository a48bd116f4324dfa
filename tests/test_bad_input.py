"""Every mistake a learner can make ends in one clear message, and leaves nothing behind.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from docker.errors import ImageNotFound

from helpers.builds import build
from helpers.catalog import REPO
from helpers.cleanup import remove_repo
from helpers.errors import BaseImageMissing, BuildFailed, DockerfileMissing, InvalidName
from helpers.progress import QuietProgress


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def assert_one_clear_message(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and "What to do:" in proc.stderr
    for n in needles:
        assert n in proc.stderr


def test_no_engine_is_one_message_with_a_hint() -> None:
    proc = cli("build", "multistage", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert_one_clear_message(proc, "No Docker engine answered at unix:///nonexistent/docker.sock", "docker info")
    assert proc.stdout == ""


def test_unknown_variant_is_one_message() -> None:
    assert_one_clear_message(cli("build", "mulitstage"), "no image variant called 'mulitstage'", "did you mean 'multistage'")


@pytest.mark.docker
def test_a_base_image_that_does_not_exist(docker_engine) -> None:
    with pytest.raises(BaseImageMissing, match="nosuch/golang:0.0") as err:
        build("multistage", bases={"BUILDER_IMAGE": "nosuch/golang:0.0"}, progress=QuietProgress())
    assert "typos" in err.value.hint


@pytest.mark.docker
def test_go_code_that_does_not_compile_shows_the_compiler(edited_app, docker_engine) -> None:
    ctx = edited_app(replace=("fmt.Fprint(w, Greeting)", "fmt.Fprint(w, Greting)"))
    with pytest.raises(BuildFailed, match="Go compiler rejected") as err:
        build("multistage", context=ctx, tag="cms-daq-workshop-broken:latest", progress=QuietProgress())
    assert "main.go:" in err.value.detail and "undefined: Greting" in err.value.detail
    with pytest.raises(ImageNotFound):
        docker_engine.images.get("cms-daq-workshop-broken:latest")


@pytest.mark.docker
def test_a_failed_build_keeps_the_cache_of_the_good_one(edited_app, docker_engine) -> None:
    # The failed build's step images stand on the good build's first steps (go.mod, go mod download): removing
    # what it left must stop there. Docker 26's containerd image store, asked to prune, took those shared steps
    # too, and every later build of the variant ran them again: its builder stage got a new image. The classic
    # builder's: BuildKit keeps its cache to itself and leaves no step images.
    good = "cms-daq-workshop-classic-multistage"  # a tag of its own: the variant's stays on the default builder's image
    try:
        build("multistage", tag=f"{good}:latest", progress=QuietProgress(), builder="classic")
        stage = docker_engine.images.get(f"{good}:stage-1").id
        with pytest.raises(BuildFailed):
            build("multistage", context=edited_app(replace=("fmt.Fprint(w, Greeting)", "fmt.Fprint(w, Greting)")),
                  tag="cms-daq-workshop-broken:latest", progress=QuietProgress(), builder="classic")
        build("multistage", tag=f"{good}:latest", progress=QuietProgress(), builder="classic")
        assert docker_engine.images.get(f"{good}:stage-1").id == stage, "the builder stage ran again"
    finally:
        remove_repo(good)


@pytest.mark.docker
def test_a_missing_dockerfile(tmp_path: Path) -> None:
    with pytest.raises(DockerfileMissing, match="no Dockerfile at"):
        build("mine", dockerfile=tmp_path / "Dockerfile.mine", progress=QuietProgress())


@pytest.mark.docker
def test_a_broken_dockerfile_shows_the_failing_step(tmp_path: Path) -> None:
    df = tmp_path / "Dockerfile.typo"
    df.write_text("FROM scratch\nCOPY main.go /\nRUN this-command-does-not-exist\n")
    with pytest.raises(BuildFailed) as err:
        build("typo", dockerfile=df, progress=QuietProgress())
    assert "Dockerfile step" in err.value.hint


@pytest.mark.docker
def test_an_empty_base_name_is_one_clear_error(docker_engine) -> None:
    """docker-py raised NullResource for this; a learner gets the kit's message."""
    with pytest.raises(BaseImageMissing, match="not an image name"):
        build("empty", dockerfile=REPO / "dockerfiles" / "Dockerfile.multistage",
              bases={"BUILDER_IMAGE": "", "RUNTIME_IMAGE": ""}, progress=QuietProgress())


@pytest.mark.docker
@pytest.mark.parametrize("tag", ["cms-daq-workshop-two\nlines:latest", "Cms-Daq-Workshop-Upper:latest"])
def test_a_tag_docker_would_refuse_is_one_clear_error(tag: str, docker_engine) -> None:
    """docker-py raised a bare DockerException for a tag with a new line."""
    with pytest.raises(InvalidName, match="not a valid image tag"):
        build("mine", dockerfile=REPO / "dockerfiles" / "Dockerfile.multistage", tag=tag, progress=QuietProgress())


@pytest.mark.docker
def test_a_name_over_docker_s_length_limit_says_so(docker_engine) -> None:
    """A 300-character name was told to "fix the Dockerfile step"; the cause is Docker's 255 limit."""
    with pytest.raises(InvalidName, match="Docker allows 255"):
        build("x" * 300, dockerfile=REPO / "dockerfiles" / "Dockerfile.multistage", progress=QuietProgress())


@pytest.mark.docker
def test_a_custom_build_never_takes_a_catalog_variants_tag(docker_engine, tmp_path: Path) -> None:
    """build("debian", dockerfile=other) replaced cms-daq-workshop-debian; now it gets a name of its own."""
    with pytest.raises(InvalidName, match="belongs to the catalog's variant debian"):
        build("mine", dockerfile=REPO / "dockerfiles" / "Dockerfile.multistage",
              tag="cms-daq-workshop-debian:latest", progress=QuietProgress())
    from helpers.builds import plan

    assert plan("debian", dockerfile=REPO / "dockerfiles" / "Dockerfile.multistage").tag == \
        "cms-daq-workshop-custom-debian:latest"
    assert plan("debian", bases={"BUILDER_IMAGE": "golang-alpine"}).tag == "cms-daq-workshop-custom-debian:latest"
    assert plan("debian").tag == "cms-daq-workshop-debian:latest"
