"""Cleaning up removes the kit's containers and images, never a learner's own.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import io

import pytest

from helpers import cleanup
from helpers.builds import build
from helpers.catalog import BASES
from helpers.labels import LOCAL_PREFIX
from helpers.progress import QuietProgress

pytestmark = [pytest.mark.docker, pytest.mark.runs_last]

LEARNER_TAG = "learner/my-app:1"


@pytest.fixture
def learner_image(docker_engine):
    """A learner's own image built FROM a kit base: it inherits the kit's labels, but is not the kit's."""
    base = BASES["alpine"].local if not docker_engine.images.list(name="alpine") else "alpine:3.16"
    dockerfile = f"FROM {base}\nRUN echo mine > /mine.txt\n".encode()
    image, _ = docker_engine.images.build(fileobj=io.BytesIO(dockerfile), tag=LEARNER_TAG, rm=True)
    yield image
    docker_engine.images.remove(LEARNER_TAG, force=True)


def test_clean_keeps_the_learners_image_and_the_bases(learner_image, docker_engine) -> None:
    kit = build("multistage", tag="cms-daq-workshop-cleantest:latest", progress=QuietProgress())
    report = cleanup.clean()
    assert kit.tag in report.images
    assert LEARNER_TAG not in report.images
    assert docker_engine.images.get(LEARNER_TAG).id == learner_image.id
    assert not cleanup.kit_image_tags()
    # The local bases stay unless asked for (--bases): they take minutes to make again.
    assert any(t.startswith(LOCAL_PREFIX + "/") for t in cleanup.kit_image_tags(bases=True))
    assert LEARNER_TAG not in cleanup.kit_image_tags(bases=True)


def test_clean_removes_what_the_terminal_cells_made(learner_image, docker_engine, tmp_path) -> None:
    """A lesson's terminal cell that failed half-way leaves the workshop's names behind, without the kit's
    labels (the exercise's Dockerfile has no LABEL line): clean finds them by name, and only them."""
    from helpers.terminal import Placeholders, run_live

    (tmp_path / "typed.txt").write_text("typed in a terminal\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY typed.txt /typed.txt\n")  # no label to inherit
    mine = "learner-own-container"
    try:
        run_live(f"DOCKER_BUILDKIT=0 docker build -q --tag cms-daq-workshop-typed {tmp_path}\n"
                 "docker create --name cms-daq-simple-app-typed cms-daq-workshop-typed /typed.txt\n"
                 f"docker create --name {mine} {LEARNER_TAG}", Placeholders(), echo=False)
        labels = docker_engine.images.get("cms-daq-workshop-typed").labels or {}
        assert not any(k.startswith("org.cms-daq-kit.") for k in labels), labels  # a label-only clean missed it
        report = cleanup.clean()
        assert "cms-daq-simple-app-typed" in report.containers and "cms-daq-workshop-typed:latest" in report.images
        assert mine not in report.containers and docker_engine.containers.get(mine).name == mine
        assert not docker_engine.containers.list(all=True, filters={"name": "cms-daq-simple-app-typed"})
    finally:
        run_live(f"docker rm -f {mine} cms-daq-simple-app-typed\ndocker image rm -f cms-daq-workshop-typed || true",
                 Placeholders(), echo=False)
