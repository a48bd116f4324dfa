"""The recording the lessons show without an engine: made by the kit, current with what it depends on,
and equal to what a fresh build of this commit gives. Tests of internals."""

from __future__ import annotations

import pytest

from helpers import recording
from helpers.builders import is_step_line
from helpers.buildkit import is_step_header
from helpers.catalog import VARIANTS
from helpers.sizes import image_store

#: How far a fresh build's size may be from the recorded one. The local bases are remade from
#: Debian's packages: a Debian point release (a patched golang-go) moves sizes by well under 1%
#: without changing what a lesson says; more than that, and the recording no longer shows what
#: the kit builds, so it must be made again.
SIZE_TOLERANCE = 0.01


#: Every recording the kit ships: the lessons' own, and the other engines' sizes beside it.
EVERY_RECORDING = [recording.RECORDING, *recording.OTHER_ENGINES.values()]
AGAIN = {recording.RECORDING: "`python -m helpers record`"} | {
    p: f"`python -m helpers record --sizes-only` on the {store} engine (scripts/engine-*.sh)"
    for store, p in recording.OTHER_ENGINES.items()}


@pytest.mark.parametrize("path", EVERY_RECORDING, ids=lambda p: p.name)
def test_recording_covers_exactly_the_catalog(path) -> None:
    rec = recording.load(path)
    assert set(rec.results) == set(VARIANTS), f"a variant changed: run {AGAIN[path]}"


@pytest.mark.parametrize("path", EVERY_RECORDING, ids=lambda p: p.name)
def test_recording_is_current_with_everything_it_depends_on(path) -> None:
    stale = recording.load(path).stale_inputs()
    assert not stale, f"changed since {path.name}: {stale}; run {AGAIN[path]}"


@pytest.mark.parametrize("store", list(recording.OTHER_ENGINES))
def test_each_other_engine_was_recorded_on_that_engine(store) -> None:
    rec = recording.load(recording.OTHER_ENGINES[store])
    assert rec.provenance["image_store"] == store
    assert {r.image_store for r in rec.results.values()} == {store}
    assert all(r.greeting == "Hello CMS DAQ Group!" for r in rec.results.values())
    assert store in rec.engine.lower() or (store == "podman" and rec.engine.startswith("Podman"))


def test_the_other_engines_measure_what_the_lessons_measure() -> None:
    """The kit's unpacked figure is the same on every engine; the engines' own listings are not."""
    ours = recording.load().results
    for rec in recording.other_engines():
        for name, r in rec.results.items():
            assert abs(r.size_bytes - ours[name].size_bytes) <= 0.001 * ours[name].size_bytes, (rec.engine, name)
            assert r.listed_bytes != r.size_bytes or rec.provenance["image_store"] == "podman", (rec.engine, name)


def test_a_changed_input_makes_the_recording_stale(tmp_path, monkeypatch) -> None:
    rec = recording.load()
    edited = dict(rec.digests)
    edited["app/main.go"] = "0" * 64
    assert recording.Recording(rec.provenance, rec.results, edited).stale_inputs() == ["app/main.go"]


@pytest.mark.parametrize("path", EVERY_RECORDING, ids=lambda p: p.name)
def test_recording_says_where_when_and_on_what(path) -> None:
    p = recording.load(path).provenance
    for key in ["recorded_at", "engine_version", "arch", "bases", "kit_commit", "made_by"]:
        assert p.get(key), key


def test_recorded_results_hold_what_the_lessons_show() -> None:
    rec = recording.load()
    for name, r in rec.results.items():
        assert r.greeting == "Hello CMS DAQ Group!", name
        assert r.log and all(is_step_line(x) or is_step_header(x) for x in r.log), name  # the steps alone
        assert sum(x.filesystem for x in r.layers) == r.fs_layers, name


@pytest.mark.docker
def test_a_fresh_build_of_this_commit_gives_the_recorded_sizes(built) -> None:
    # This engine's own recording where there is one (Podman's, Docker 26 containerd's): its builder's layer
    # count is the one to hold (BuildKit, the default on Docker, keeps a layer that Buildah leaves out).
    rec = recording.load(recording.OTHER_ENGINES.get(image_store(), recording.RECORDING))
    off = {}
    for name, r in built.items():
        recorded = rec.results[name]
        if abs(r.size_bytes - recorded.size_bytes) > SIZE_TOLERANCE * recorded.size_bytes or r.fs_layers != recorded.fs_layers:
            off[name] = (recorded.size_bytes, r.size_bytes, recorded.fs_layers, r.fs_layers)
    assert not off, f"recorded vs fresh (bytes, bytes, layers, layers): {off}; run `python -m helpers record`"
