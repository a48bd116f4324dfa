"""The kit's own sizes (helpers/sizes.py): measured from the image's layers, cached per layer.

Tests of internals: they import sizes, store and tables directly.

Against the real engine: every build carries three sizes whose layers add up, the compressed
figure is gzip's (checked with GNU gzip), and a second measurement of the same layers reads nothing
from the engine. (tests/test_image.py checks the unpacked figure against the classic engine's own.)
"""

from __future__ import annotations

import json
import subprocess
import tarfile

import pytest

from helpers import engine, sizes
from helpers.builds import build
from helpers.catalog import VARIANTS
from helpers.progress import QuietProgress
from helpers.results import Layer
from helpers.store import with_layer_sizes
from helpers.tables import three_sizes


@pytest.fixture(scope="module")
def fresh(built) -> dict:
    """Every variant as it is on the engine now: other tests rebuild some (the cache makes this quick)."""
    return {name: build(name, progress=QuietProgress()) for name in VARIANTS}


def test_measured_sizes_go_to_the_filesystem_layers_only() -> None:
    """Tests of internals: metadata steps keep 0; a count that does not match keeps the history's sizes."""
    steps = [Layer(100, "ADD rootfs", True), Layer(0, "ENV A=1", True, filesystem=False), Layer(7, "COPY app", False)]
    assert [x.size_bytes for x in with_layer_sizes(steps, (90, 8))] == [90, 0, 8]
    assert [x.size_bytes for x in with_layer_sizes(steps, (1, 2, 3))] == [100, 0, 7]


@pytest.mark.docker
def test_every_variant_has_its_three_sizes(fresh) -> None:
    """Each build carries the kit's figure (its layers add up to it), a smaller compressed one and the listed one."""
    store = sizes.image_store()
    for name, r in fresh.items():
        listed = [x for x in engine.client().api.images(all=True) if x["Id"] == r.image_id][0]["Size"]
        assert r.listed_bytes == listed > 0, name
        assert 0 < r.compressed_bytes < r.size_bytes, (name, r.compressed_bytes, r.size_bytes)
        assert r.image_store == store
        assert sum(x.size_bytes for x in r.layers) == r.size_bytes, name  # the layers add up to the image


@pytest.mark.docker
def test_the_compressed_figure_is_gzip_of_the_layers(fresh, tmp_path) -> None:
    """For the multistage image (one layer): GNU gzip -6 of the layer that `docker save` writes, within 1%."""
    r = fresh["multistage"]
    archive = tmp_path / "image.tar"
    subprocess.run(["docker", "save", "-o", str(archive), r.image_id], check=True)
    with tarfile.open(archive) as t:  # manifest.json names the layer in either layout
        (layer,) = json.loads(t.extractfile("manifest.json").read())[0]["Layers"]
        blob = t.extractfile(layer).read()
    if blob[:2] == b"\x1f\x8b":  # the containerd store keeps a built layer gzipped: that is what a push sends
        assert r.compressed_bytes == len(blob)
        return
    (tmp_path / "layer.tar").write_bytes(blob)
    gz = subprocess.run(["gzip", "-6n", "-c", str(tmp_path / "layer.tar")], capture_output=True, check=True).stdout
    assert abs(len(gz) - r.compressed_bytes) <= len(gz) * 0.01, (len(gz), r.compressed_bytes)


@pytest.mark.docker
def test_a_second_measurement_reads_nothing(fresh, tmp_path, monkeypatch) -> None:
    """Once a layer is measured, measuring any image made of known layers does not save it again."""
    monkeypatch.setenv("KIT_CACHE_DIR", str(tmp_path))
    first = sizes.measure(fresh["distroless"].image_id)
    assert sizes.cache_file().parent == tmp_path and sizes.cache_file().is_file()

    def no_save(ref: str):
        raise AssertionError(f"{ref} was read again")

    monkeypatch.setattr(sizes, "read_image", no_save)
    assert sizes.measure(fresh["distroless"].image_id) == first
    assert sizes.measure(fresh["distroless"].tag) == first


@pytest.mark.docker
def test_the_three_sizes_table_says_what_each_is(fresh) -> None:
    """Lesson 01's table: three rows, each with its MB and a sentence; the last names this engine's store."""
    table = three_sizes(fresh["debian"])
    assert list(table["size"]) == ["unpacked", "compressed", "docker image ls"]
    assert table["MB"].tolist()[0] == fresh["debian"].size_mb
    assert "image store" in table["what it is"].iloc[2] or "Podman" in table["what it is"].iloc[2]


def test_sizes_on_engines_puts_each_engines_figures_side_by_side() -> None:
    """Tests of internals (lesson 04's table): one row per variant, largest first; a missing variant is a dash."""
    from helpers.results import BuildResult
    from helpers.tables import NONE, sizes_on_engines

    def result(variant: str, size: int, listed: int) -> BuildResult:
        return BuildResult(variant=variant, tag=f"t-{variant}", image_id="sha256:0", size_bytes=size, layers=[],
                           bases=[], seconds=1.0, architecture="amd64", listed_bytes=listed)

    here = [result("multistage", 6_520_000, 6_520_000), result("debian", 760_180_000, 760_180_000)]
    there = [result("debian", 760_180_000, 1_575_770_000)]
    table = sizes_on_engines({"A (live)": here, "B (recorded)": there})
    assert list(table.index) == ["debian", "multistage"]
    assert list(table.columns) == [("unpacked (MB)", "A (live)"), ("unpacked (MB)", "B (recorded)"),
                                   ("docker image ls (MB)", "A (live)"), ("docker image ls (MB)", "B (recorded)")]
    assert table.loc["debian"].tolist() == [760.18, 760.18, 760.18, 1575.77]
    assert table.loc["multistage"].tolist() == [6.52, NONE, 6.52, NONE]


def test_an_engine_is_named_by_what_decides_its_listing() -> None:
    from helpers.results import engine_title

    assert engine_title("Docker", "20.10.24+dfsg1", "classic") == "Docker 20.10.24, classic image store"
    assert engine_title("Docker", "26.1.5+dfsg1", "containerd") == "Docker 26.1.5, containerd image store"
    assert engine_title("Podman", "4.3.1", "podman") == "Podman 4.3.1"


@pytest.mark.docker
def test_this_engines_listing_is_as_recorded_on_an_engine_like_it(fresh) -> None:
    """Where the kit ships a recording of this kind of engine (containerd store, Podman), a fresh build lists
    as that recording says, within 2%: lesson 04 shows that recording to learners who have no engine."""
    from helpers import recording

    store = sizes.image_store()
    path = recording.OTHER_ENGINES.get(store)
    if path is None:
        assert store == "classic"  # the lessons' own recording covers it (test_recording.py)
        return
    recorded = recording.load(path).results
    for name, r in fresh.items():
        want = recorded[name].listed_bytes
        assert abs(r.listed_bytes - want) <= 0.02 * want, (name, r.listed_bytes, want)
        assert abs(r.size_bytes - recorded[name].size_bytes) <= 0.001 * r.size_bytes, name
