"""BuildKit through the Docker CLI, behind the same interface as the classic builder.

Tests of internals. BuildKit is the default builder on a Docker engine; every variant is built with it
against the real engine and compared with its classic build; a rebuild reports its cached steps; failures and bounds end as with the classic
builder, and leave nothing behind.
"""

from __future__ import annotations

import pytest
from test_interrupts import snapshot

from helpers.buildkit import BuildKitBuilder, default_choice, find_cli
from helpers.builds import build
from helpers.catalog import VARIANTS
from helpers.cleanup import remove_repo
from helpers.container import RunningApp
from helpers.errors import BuildFailed, BuildTimedOut
from helpers.labels import MANAGED, ROLE
from helpers.progress import QuietProgress

# BuildKit goes through the Docker CLI, which builds only on a Docker engine: Podman has no BuildKit
# (the kit says so in one line there: test_cli.py).
pytestmark = [pytest.mark.docker, pytest.mark.docker_only]


@pytest.fixture(scope="module")
def classic_built(built):
    """Every variant built with the classic builder (under tags of its own), removed afterwards.

    On a Docker engine with a BuildKit CLI, as here, the suite's ``built`` is BuildKit's: the default.
    """
    out = {name: build(name, tag=f"cms-daq-workshop-classic-{name}:latest", builder="classic",
                       progress=QuietProgress()) for name in VARIANTS}
    yield out
    for name in VARIANTS:
        remove_repo(f"cms-daq-workshop-classic-{name}")


def test_buildkit_is_the_default_builder_on_docker(built) -> None:
    if find_cli() is None:
        pytest.fail("no Docker CLI with BuildKit: `make test` installs Debian's docker.io, whose CLI has it")
    assert default_choice()[0] == "buildkit", default_choice()
    typed = " ".join(BuildKitBuilder().typed())
    for name, r in built.items():  # what the lessons show and a learner copies into a terminal
        assert r.command.split(" --tag ")[0] == typed, (name, r.command)


def test_every_variant_builds_with_buildkit_as_with_the_classic_builder(built, classic_built, docker_engine) -> None:
    for name, r in built.items():
        classic = classic_built[name]
        # Layer counts may differ by one: BuildKit keeps a layer for a RUN that changed nothing (go mod
        # download here), where the classic builder marks it empty. The bytes are the same.
        assert r.image_id.startswith("sha256:") and abs(r.fs_layers - classic.fs_layers) <= 1, name
        assert sum(x.filesystem for x in r.layers) == r.fs_layers, name
        assert abs(r.size_bytes - classic.size_bytes) <= 0.01 * classic.size_bytes, (name, r.size_bytes)
        assert r.user == classic.user and [b.used for b in r.bases] == [b.used for b in classic.bases], name
        for tag in (r.tag, classic.tag):
            labels = docker_engine.images.get(tag).labels
            assert labels[MANAGED] == "true" and labels[ROLE] == "variant", (name, tag)
        assert classic.command.startswith("DOCKER_BUILDKIT=0 docker build "), classic.command


@pytest.mark.parametrize("name", ["debian", "multistage", "distroless", "scratch-hardened"])
def test_buildkit_images_answer(built, name: str) -> None:
    with RunningApp(built[name]) as app:
        assert app.greeting() == "Hello CMS DAQ Group!"


def test_a_rebuild_reports_its_cached_steps(built) -> None:
    # Built here, not read from `built`: earlier tests' --no-cache builds (test_benchmark) made the variant's
    # image again since, under a new id (its steps' times), in a full run.
    first = build("multistage", builder="buildkit", progress=QuietProgress())
    again = build("multistage", builder="buildkit", progress=QuietProgress())
    cached = [x for x in again.log if x.endswith(": CACHED")]
    assert any("go build" in x for x in cached), again.log
    assert again.image_id == first.image_id


def test_a_compile_error_shows_the_compiler_with_buildkit(edited_app) -> None:
    before = snapshot()
    ctx = edited_app(replace=("fmt.Fprint(w, Greeting)", "fmt.Fprint(w, Greting)"))
    with pytest.raises(BuildFailed, match="Go compiler rejected") as err:
        build("multistage", context=ctx, tag="cms-daq-workshop-bk-broken:latest", builder="buildkit",
              progress=QuietProgress())
    assert "undefined: Greting" in err.value.detail
    assert snapshot() == before


def test_a_step_over_the_bound_with_buildkit(tmp_path) -> None:
    df = tmp_path / "Dockerfile"
    df.write_text("ARG BASE=alpine\nFROM ${BASE}\nRUN sleep 30\n")
    before = snapshot()
    with pytest.raises(BuildTimedOut, match=r"bound of 3 s, at step \[2/2\] RUN sleep 30"):
        build("hangs", dockerfile=df, context=tmp_path, bases={"BASE": "alpine"}, nocache=True, timeout=3,
              builder="buildkit", progress=QuietProgress())
    assert snapshot() == before


def test_buildkit_taking_a_classic_images_tag_leaves_nothing(built) -> None:
    """On Docker 26's containerd store a BuildKit build that takes the last tag of a classic build's image
    deletes that image itself: its untagged parents (the classic builder's step images) must go too."""
    tag = "cms-daq-workshop-bk-after-classic:latest"
    before = snapshot()
    try:
        build("multistage", tag=tag, builder="classic", progress=QuietProgress())
        build("multistage", tag=tag, builder="buildkit", progress=QuietProgress())
        assert snapshot() == before, "a classic build's step images were left untagged"
    finally:
        remove_repo("cms-daq-workshop-bk-after-classic")
