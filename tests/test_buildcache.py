"""Lesson 09's build cache: reading each step's outcome from both builders' logs, the shipped recording,
and the exercise's checker against the real engine (the mistake fails it, the fix passes it).

The lesson's own claims (a cached step is reported as CACHED, the cache mount saves time) are checked
live and recorded by nbval, in the lesson's Check cell. Tests of internals: they import buildcache.
"""

from __future__ import annotations

import pytest

from helpers import buildcache
from helpers.buildcache import AFTER_EDIT, CacheRun, Step, steps_of
from helpers.catalog import REPO
from helpers.engine import client
from helpers.exercise import check_answer

BUILDKIT_LOG = [
    "#1 [internal] load build definition from Dockerfile.deps-first",
    "#1: DONE 0.0s",
    "[build 1/7] FROM localhost/kit-local/golang:busybox",
    "[build 1/7] FROM localhost/kit-local/golang:busybox: DONE 0.0s",
    "[build 5/7] RUN CGO_ENABLED=0 go build net/http",
    "[build 5/7] RUN CGO_ENABLED=0 go build net/http: CACHED",
    "[build 7/7] RUN CGO_ENABLED=0 go build -o /cms-daq-simple-app: DONE 0.7s",
    "[stage-1 1/1] COPY --from=build /cms-daq-simple-app /cms-daq-simple-app: CACHED",
    "[2/2] RUN echo: DONE 12.5s",
]
CLASSIC_LOG = ["Step 6/17 : RUN go mod download", " ---> Using cache", " ---> 8927a882a019",
               "Step 7/17 : RUN CGO_ENABLED=0 go build net/http", " ---> Running in 585500286bb8",
               "Removing intermediate container 585500286bb8", " ---> 4bde9c81605f"]


def test_buildkit_lines_give_each_step_its_stage_outcome_and_time() -> None:
    steps = steps_of(BUILDKIT_LOG)
    assert steps == [Step("build", 1, 7, "FROM localhost/kit-local/golang:busybox", False, 0.0),
                     Step("build", 5, 7, "RUN CGO_ENABLED=0 go build net/http", True, None),
                     Step("build", 7, 7, "RUN CGO_ENABLED=0 go build -o /cms-daq-simple-app", False, 0.7),
                     Step("stage-1", 1, 1, "COPY --from=build /cms-daq-simple-app /cms-daq-simple-app", True, None),
                     Step("", 2, 2, "RUN echo", False, 12.5)]


def test_classic_lines_mark_a_step_cached_by_its_using_cache_line() -> None:
    steps = steps_of(CLASSIC_LOG)
    assert [(s.index, s.instruction, s.cached, s.seconds) for s in steps] == [
        (6, "RUN go mod download", True, None), (7, "RUN CGO_ENABLED=0 go build net/http", False, None)]


def test_podman_lines_mark_a_step_cached_by_its_using_cache_line() -> None:
    log = ["[1/2] STEP 3/6: COPY go.mod go.sum* ./", "--> Using cache 5d0e1c2b3a49f", "[1/2] STEP 4/6: RUN go build",
           "--> 7a8b9c0d1e2f3", "[2/2] STEP 1/2: FROM scratch"]
    assert [(s.stage, s.index, s.cached) for s in steps_of(log)] == [("stage 1", 3, True), ("stage 1", 4, False),
                                                                     ("stage 2", 1, False)]


def test_the_summary_pairs_each_cold_build_with_its_rebuild() -> None:
    runs = [CacheRun("deps-first", "buildkit", "cold", 5.0, [Step("build", 1, 2, "RUN a", False, 4.0)]),
            CacheRun("deps-first", "buildkit", AFTER_EDIT, 1.0, [Step("build", 1, 2, "RUN a", True)]),
            CacheRun("copy-first", "classic", "cold", 8.0), CacheRun("copy-first", "classic", AFTER_EDIT, 6.0)]
    table = buildcache.summary(runs)
    assert table["× cold"].tolist() == [0.2, 0.75]
    assert table["steps CACHED after the edit"].tolist() == ["1 of 1", "0 of 0"]
    assert check_answer("09-cached-steps", 1, runs).passed and not check_answer("09-cached-steps", 2, runs).passed


def test_the_cache_recording_is_fresh_and_holds_every_experiment() -> None:
    rec = buildcache.load()
    assert rec.stale_inputs() == [], "run `python -m helpers record --cache` and commit helpers/data/recording-cache.json"
    assert [(r.dockerfile, r.builder, r.build) for r in rec.runs] == [
        (d, b, kind) for d, b in buildcache.PLAN for kind in ("cold", AFTER_EDIT)]
    by = {(r.dockerfile, r.builder, r.build): r for r in rec.runs}
    # What the lesson says of it: the fix and the cache mount rebuild in under a quarter of their cold builds.
    for name in ("deps-first", "cache-mount"):
        assert by[(name, "buildkit", AFTER_EDIT)].seconds < 0.25 * by[(name, "buildkit", "cold")].seconds, name
    assert "Docker" in rec.summary and rec.provenance["made_by"] == "python -m helpers record --cache"


@pytest.mark.docker
@pytest.mark.default_engine  # BuildKit's outcome lines are read the same on every Docker engine
def test_the_exercise_checker_fails_the_mistake_and_passes_the_fix() -> None:
    mistake = buildcache.check_dockerfile(REPO / "notebooks" / "exercise" / "Dockerfile.cache")
    assert mistake.get("the image builds").ok and mistake.get("still answers").ok, mistake
    assert not mistake.get("a rebuild").ok and not mistake.passed, mistake
    fixed = buildcache.check_dockerfile(REPO / "solutions" / "09-build-cache" / "Dockerfile")
    assert fixed.passed, fixed
    left = [t for image in client().images.list() for t in image.tags if "cache-exercise" in t]
    assert left == [], left
