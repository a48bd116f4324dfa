"""Base images: every catalog base is here, made idempotently, preferred official, bundled and loaded.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import pytest
from support import skip_or_fail

from helpers import bases, bundles, localbases
from helpers.bases import BaseState
from helpers.catalog import BASES
from helpers.errors import BaseImageMissing
from helpers.labels import LOCAL_PREFIX, MANAGED, ROLE, plain
from helpers.store import has_image

pytestmark = pytest.mark.docker


def test_every_base_is_available() -> None:
    missing = [s.key for s in bases.status() if not s.state.usable]
    assert not missing, "run `python -m helpers images`"


def test_ensure_all_does_nothing_when_everything_is_here(docker_engine) -> None:
    before = {i.id for i in docker_engine.images.list()}
    said: list[str] = []
    bases.ensure_all(say=said.append, offline=True)
    assert said == [] and {i.id for i in docker_engine.images.list()} == before


def test_ensure_all_without_a_registry_keeps_the_local_bases(docker_engine) -> None:
    """Asked to pull where no registry answers, it says so and keeps what is here."""
    if all(s.state in (BaseState.OFFICIAL, BaseState.BUILT_IN) for s in bases.status()):
        skip_or_fail("official bases here: nothing to fall back from")
    before = {i.id for i in docker_engine.images.list()}
    said: list[str] = []
    bases.ensure_all(say=said.append, offline=False, pull_present=True)
    assert {i.id for i in docker_engine.images.list()} == before
    assert any("keeping the local equivalent" in s for s in said)


def test_bases_already_here_are_used_as_they_are(docker_engine) -> None:
    """A loaded bundle (or made local equivalents) is used as it is: no pull is even tried."""
    if all(s.state in (BaseState.OFFICIAL, BaseState.BUILT_IN) for s in bases.status()):
        skip_or_fail("official bases here: nothing to fall back from")
    said: list[str] = []
    bases.ensure_all(say=said.append, offline=False)
    assert said == []


def test_local_equivalents_are_labelled_and_never_official(docker_engine) -> None:
    for st in bases.status():
        if st.state is BaseState.LOCAL:
            image = docker_engine.images.get(st.local)
            assert image.labels[MANAGED] == "true" and image.labels[ROLE] == "base"
            assert all(plain(t).startswith(LOCAL_PREFIX + "/") for t in image.tags)
            assert not has_image(st.official)


def test_the_official_image_wins_when_present(docker_engine) -> None:
    b = BASES["alpine"]
    if has_image(b.official):
        assert not bases.resolve("RUNTIME_IMAGE", "alpine").local_equivalent
        return
    # A stand-in for a pulled alpine:3.16; repository and tag apart (Podman refuses "alpine:3.16" as a repository).
    docker_engine.images.get(b.local).tag(*b.official.rsplit(":", 1))
    try:
        used = bases.resolve("RUNTIME_IMAGE", "alpine")
        assert used.used == b.official and not used.local_equivalent
    finally:
        docker_engine.images.remove(b.official)
    assert bases.resolve("RUNTIME_IMAGE", "alpine").used == b.local


def test_a_bundle_round_trip(tmp_path, docker_engine) -> None:
    ref = f"{LOCAL_PREFIX}/bundle-test:1"
    docker_engine.images.get(BASES["distroless"].local or "").tag(*ref.rsplit(":", 1))
    path = tmp_path / "bases.tar"
    try:
        assert bundles.bundle_save(path, refs=[ref], say=lambda s: None) == [ref]
        docker_engine.images.remove(ref)
        assert not has_image(ref)
        assert bundles.bundle_load(path, say=lambda s: None) == [ref]
        assert has_image(ref)
    finally:
        if has_image(ref):
            docker_engine.images.remove(ref)


def test_loading_something_that_is_not_a_bundle(tmp_path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar")
    with pytest.raises(BaseImageMissing, match="not an image archive"):
        bundles.bundle_load(junk)


def test_a_changed_recipe_marks_the_local_base_stale(monkeypatch) -> None:
    local = [s for s in bases.status() if s.state is BaseState.LOCAL]
    if not local:
        skip_or_fail("official bases in use here: no local equivalent to check")
    monkeypatch.setattr(localbases, "recipe", lambda tag: "a-newer-recipe")
    assert {s.state for s in bases.status() if s.key == local[0].key} == {BaseState.STALE}
