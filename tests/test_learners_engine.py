"""Two learners on one engine, as in a JupyterHub classroom: each builds, runs and cleans only their own.

The issue's trial, for real: two `--no-cache` builds of the same variant at once, as two learners'
kernels would run them (two processes, ``KIT_LEARNER`` set in each), then one learner's clean while
the other's app is answering.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest

from helpers import cleanup
from helpers.catalog import REPO
from helpers.container import RunningApp
from helpers.labels import LEARNER, plain

pytestmark = pytest.mark.docker

ALICE, BOB = "kit-test-alice", "kit-test-bob"


def tag_of(who: str) -> str:
    return f"{who}/cms-daq-workshop-multistage:latest"


def build_as(who: str) -> subprocess.Popen:
    env = {**os.environ, "KIT_LEARNER": who, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "helpers", "build", "multistage", "--no-cache"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def two_learners(monkeypatch, docker_engine):
    """Yield after both learners' builds; afterwards each learner's clean, whatever happened."""
    yield
    for who in (ALICE, BOB):
        monkeypatch.setenv("KIT_LEARNER", who)
        cleanup.clean()


def test_two_learners_build_run_and_clean_apart(two_learners, monkeypatch, docker_engine) -> None:
    builds = {who: build_as(who) for who in (ALICE, BOB)}  # at once, as two kernels would
    for who, proc in builds.items():
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{who}'s build failed:\n{out}"
    images = {who: docker_engine.images.get(tag_of(who)) for who in (ALICE, BOB)}
    # Two --no-cache builds: two images, each learner's tag naming her own, labelled as hers.
    assert images[ALICE].id != images[BOB].id
    assert {who: img.labels.get(LEARNER) for who, img in images.items()} == {ALICE: ALICE, BOB: BOB}
    # No learner's build took the un-namespaced name (plain: as Docker shows a name Podman qualifies).
    learners_tags = {plain(t) for img in docker_engine.images.list(filters={"label": LEARNER}) for t in img.tags}
    assert {tag_of(ALICE), tag_of(BOB)} <= learners_tags
    assert "cms-daq-workshop-multistage:latest" not in learners_tags

    monkeypatch.setenv("KIT_LEARNER", BOB)
    with RunningApp(tag_of(BOB)) as bobs_app:
        assert bobs_app.name.endswith("." + BOB)
        monkeypatch.setenv("KIT_LEARNER", ALICE)
        report = cleanup.clean(bases=True)  # Alice cleans everything she may: the shared bases stay
        assert tag_of(ALICE) in report.images
        assert not any(BOB in x for x in report.images + report.containers), report
        assert not any(x.startswith("localhost/kit-local/") for x in report.images), report
        # Bob's app still answers, his image is still his.
        with urllib.request.urlopen(bobs_app.url, timeout=10) as answer:
            assert b"Hello CMS DAQ Group!" in answer.read()
        assert docker_engine.images.get(tag_of(BOB)).id == images[BOB].id
        monkeypatch.setenv("KIT_LEARNER", BOB)
    monkeypatch.setenv("KIT_LEARNER", BOB)
    report = cleanup.clean()
    assert tag_of(BOB) in report.images
    assert not docker_engine.images.list(name=f"{BOB}/cms-daq-workshop-multistage")
