"""Real builds of every variant against the engine: sizes, layers, bases used, Go tests.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations


import pytest
from support import dangling_ids

from helpers.buildcache import steps_of
from helpers.builds import build
from helpers.catalog import BASES, VARIANTS
from helpers.cleanup import remove_repo
from helpers.errors import BuildFailed
from helpers.labels import MANAGED, ROLE
from helpers.progress import QuietProgress
from helpers.store import has_image

pytestmark = pytest.mark.docker

WORKSHOP_SCRATCH_BYTES = 6_370_000  # the workshop's 6.37MB (Docker's MB are decimal)


def binary_size(client, image: str, path: str = "/cms-daq-simple-app") -> int:
    """Measure the compiled binary as the engine sees the file, independently of the kit's layer sizes.

    Read from a created (never started) container's filesystem, so that it works for images with no
    shell (scratch) and whichever builder made them: BuildKit keeps no stage image to look into.
    """
    container = client.containers.create(image)
    try:
        bits, stat = container.get_archive(path)
        data = b"".join(bits)  # read to its end: the engine waits to hand the archive over (unread, the test hung)
    finally:
        container.remove(force=True)
    assert len(data) > int(stat["size"]), (len(data), stat)  # the tar holds the file itself
    return int(stat["size"])


def test_every_variant_builds_with_the_bases_it_names(built) -> None:
    assert set(built) == set(VARIANTS)
    for name, r in built.items():
        assert r.size_bytes > 0 and r.layers and r.image_id.startswith("sha256:")
        assert [b.arg for b in r.bases] == list(VARIANTS[name].bases), name
        for b in r.bases:
            assert b.requested == BASES[VARIANTS[name].bases[b.arg]].official
            # A local equivalent is used only when the official image is absent, and says how it differs.
            assert b.local_equivalent == (not has_image(b.requested))
            assert (b.used == b.requested) != b.local_equivalent
            assert not b.local_equivalent or b.differs


def test_size_ordering_follows_the_workshop(built) -> None:
    sizes = {n: r.size_bytes for n, r in built.items()}
    assert sizes["debian"] > sizes["alpine"] > sizes["multistage"]
    assert sizes["debian"] > 50 * sizes["multistage"]
    for runtime in ["debian-slim", "alpine-runtime", "distroless", "multistage"]:
        assert sizes[runtime] < sizes["alpine"], runtime


def test_hardened_scratch_is_under_the_workshops_figure_and_nearly_only_the_binary(built, docker_engine) -> None:
    r = built["scratch-hardened"]
    assert r.size_bytes < WORKSHOP_SCRATCH_BYTES
    binary = binary_size(docker_engine, r.image_id)
    assert binary <= r.size_bytes <= binary * 1.02


def test_plain_multistage_is_the_binary_alone(built, docker_engine) -> None:
    r = built["multistage"]
    binary = binary_size(docker_engine, r.image_id)
    assert binary <= r.size_bytes <= binary * 1.02
    assert r.size_bytes < 10_000_000


def test_stripping_makes_the_binary_smaller(built) -> None:
    assert built["scratch-hardened"].size_bytes < built["multistage"].size_bytes * 0.8


def test_filesystem_layers_are_counted(built) -> None:
    # scratch + one COPY of the binary (+ WORKDIR) : one or two filesystem layers, never the history's many.
    assert 1 <= built["multistage"].fs_layers <= 2 < len(built["multistage"].layers)
    assert built["debian"].fs_layers > built["multistage"].fs_layers


def test_layers_split_into_base_and_ours(built) -> None:
    debian = built["debian"]
    ours = [x for x in debian.layers if not x.from_base]
    assert any(x.from_base for x in debian.layers) and ours
    assert sum(x.size_bytes for x in debian.layers) == debian.size_bytes
    # Everything in a scratch image comes from our Dockerfile.
    assert not any(x.from_base for x in built["multistage"].layers)
    assert any("go build" in x.instruction for x in ours)


def test_built_images_carry_the_kits_labels(built, docker_engine) -> None:
    for r in built.values():
        labels = docker_engine.images.get(r.tag).labels
        assert labels[MANAGED] == "true" and labels[ROLE] == "variant"


def test_building_only_the_test_stage_keeps_the_variants_tag(built, docker_engine) -> None:
    r = build("scratch-hardened", target="test", progress=QuietProgress())
    try:
        assert r.tag == "cms-daq-workshop-scratch-hardened:test"
        assert docker_engine.images.get(built["scratch-hardened"].tag).attrs["Size"] < 10_000_000
    finally:
        docker_engine.images.remove(r.tag)


def test_go_tests_run_in_the_test_stage(docker_engine, edited_app) -> None:
    # An edited main.go: a cached test stage would not run (nor print) the tests again. (Not --no-cache: the
    # edit reruns the steps from `COPY *.go` on, which is what runs the tests, and keeps the dependency build.)
    r = build("scratch-hardened", target="test", context=edited_app(comment=True),
              tag="cms-daq-workshop-gotest:latest", progress=QuietProgress())
    try:
        text = "\n".join(r.log)
        assert "--- PASS: TestRoutes" in text and "--- PASS: TestListenAddr" in text
    finally:
        remove_repo("cms-daq-workshop-gotest")


def test_a_failing_go_test_fails_the_build(edited_app) -> None:
    ctx = edited_app(replace=('"Hello CMS DAQ Group!"', '"Hello world"'))
    with pytest.raises(BuildFailed, match="Go tests failed") as err:
        build("scratch-hardened", target="test", context=ctx, tag="cms-daq-workshop-gotest-bad:latest",
              progress=QuietProgress())
    assert "--- FAIL: TestRoutes" in err.value.detail


def test_editing_main_go_reuses_the_module_download_layer(built, edited_app, docker_engine) -> None:
    """Build, edit main.go, build again: `go mod download` and the dependency build come from the cache."""
    before = build("multistage", progress=QuietProgress())  # other tests' clean-ups may have taken the cache
    ctx = edited_app(comment=True)
    r = build("multistage", context=ctx, tag="cms-daq-workshop-edit:latest", progress=QuietProgress())
    try:
        cached = {s.instruction: s.cached for s in steps_of(r.log)}  # lesson 09's reader of a build's steps
        assert cached["RUN go mod download"]
        assert cached["RUN CGO_ENABLED=0 go build net/http"]  # the dependency build, before the sources
        assert not cached["COPY *.go ./"]
        assert r.image_id != before.image_id
    finally:
        remove_repo("cms-daq-workshop-edit")


def test_rebuilding_keeps_a_stage_image_another_variant_tagged(edited_app, docker_engine) -> None:
    """multistage and alpine-runtime share their build stage; rebuilding one must not delete the other's.

    With the classic builder, the one that keeps stage images (BuildKit keeps its cache to itself), under
    tags of their own: the variants' own tags stay on the default builder's images.
    """
    multi, alpine = "cms-daq-workshop-classic-multistage", "cms-daq-workshop-classic-alpine-runtime"
    try:
        # Built here, one after the other, so that they share it whatever earlier tests removed: on the
        # containerd image store a full run has lost the classic builder's cache by now (see ARCHITECTURE.md).
        build("multistage", tag=f"{multi}:latest", progress=QuietProgress(), builder="classic")
        build("alpine-runtime", tag=f"{alpine}:latest", progress=QuietProgress(), builder="classic")
        shared = docker_engine.images.get(f"{alpine}:stage-1").id
        assert docker_engine.images.get(f"{multi}:stage-1").id == shared
        ctx = edited_app(comment=True)
        build("multistage", tag=f"{multi}:latest", context=ctx, progress=QuietProgress(), builder="classic")
        assert docker_engine.images.get(f"{multi}:stage-1").id != shared  # moved by the edited build
        assert docker_engine.images.get(f"{alpine}:stage-1").id == shared
    finally:
        remove_repo(multi)
        remove_repo(alpine)


def test_a_rebuild_after_an_edit_leaves_no_untagged_image(built, edited_app, docker_engine) -> None:
    """The image a rebuild moves the variant's tag away from goes (Podman names the tag docker.io/library/...)."""
    before = dangling_ids(docker_engine)
    edited = build("multistage", context=edited_app(comment=True), progress=QuietProgress())
    build("multistage", progress=QuietProgress())  # back to the real app: the edited image is nobody's now
    assert dangling_ids(docker_engine) == before, f"{edited.image_id} was left behind"
