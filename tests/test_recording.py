"""The recording the lessons show without an engine: made by the kit, current with the catalog."""

from __future__ import annotations

from helpers import recording
from helpers.catalog import VARIANTS


def test_recording_covers_exactly_the_catalog() -> None:
    rec = recording.load()
    assert set(rec.results) == set(VARIANTS), "a variant changed: run `python -m helpers record`"


def test_recording_matches_the_current_dockerfiles() -> None:
    rec = recording.load()
    stale = [n for n in VARIANTS if rec.digests.get(n) != recording.dockerfile_digest(n)]
    assert not stale, f"Dockerfiles changed since the recording ({stale}): run `python -m helpers record`"


def test_recording_says_where_when_and_on_what() -> None:
    p = recording.load().provenance
    for key in ["recorded_at", "engine_version", "arch", "bases", "kit_commit", "made_by"]:
        assert p.get(key), key


def test_recorded_results_are_real_runs() -> None:
    rec = recording.load()
    for name, r in rec.results.items():
        assert r.greeting == "Hello CMS DAQ Group!", name
        assert r.size_bytes == sum(x.size_bytes for x in r.layers), name
        assert r.log and all(x.startswith("Step ") for x in r.log), name
    size = {n: r.size_bytes for n, r in rec.results.items()}
    assert size["debian"] > size["alpine"] > size["multistage"]
