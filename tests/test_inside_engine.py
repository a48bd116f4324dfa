"""What is inside each image the kit builds, against the real engine and dive itself.

Tests of internals: every variant and every base is saved with the engine's own `docker save`, read
by the kit, and read by dive 0.13.1 (``--source docker-archive``): efficiency, wasted bytes, size and
the list of inefficient files must agree. The inspect gate must fail the debian variant on its
leftovers and pass scratch-hardened.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import engine
from helpers.bases import BaseState, status
from helpers.catalog import REPO, VARIANTS
from helpers.dive import compare_with_dive
from helpers.inside import read_files_path, read_image_files
from helpers.waste import leftovers

pytestmark = pytest.mark.docker


def _save(ref: str, path) -> None:
    """Write `docker save` of exactly this image, as the engine hands it out (either layout)."""
    with open(path, "wb") as f:
        for chunk in engine.client().images.get(ref).save(named=True):
            f.write(chunk)


def _bases(key: str | None = None) -> list[str]:
    """Return the bases on this engine (official or local equivalent); with ``key``, that base alone."""
    return [s.image for s in status() if s.image and s.state in (BaseState.OFFICIAL, BaseState.LOCAL)
            and key in (None, s.key)]


def _dive_agrees(refs: list[str], tmp_path) -> None:
    for ref in refs:
        archive = tmp_path / "image.tar"
        _save(ref, archive)
        table = compare_with_dive(archive)
        assert table["equal"].all(), f"{ref}:\n{table}\ndiffering files: {table.attrs['differ']}"
        archive.unlink()


@pytest.mark.default_engine  # the reading is the kit's own: every image once, here (84 s on Docker 26 beside Podman)
def test_dive_agrees_on_every_variant_and_every_base(built, tmp_path) -> None:
    refs = [built[name].tag for name in VARIANTS] + _bases()
    assert len(refs) >= len(VARIANTS) + 5, refs
    _dive_agrees(refs, tmp_path)


def test_dive_agrees_on_this_engines_saved_layout(built, tmp_path) -> None:
    """What differs between engines is the archive `docker save` writes (the containerd store's is an OCI
    layout, Podman's its own): one variant of several layers and one small base, on every engine."""
    alpine = _bases("alpine")
    assert alpine, "the alpine base (or its local equivalent) is not on this engine"
    _dive_agrees([built["distroless"].tag, *alpine], tmp_path)


def test_the_stream_from_the_engine_reads_as_the_saved_file(built, tmp_path) -> None:
    """The kit reads an image straight from the engine, or from a file: the same files either way; and
    its layers hold the build's own unpacked measurement (sizes.py: every layer's file bytes, plus each
    symlink's target length, which a tar entry gives as size 0)."""
    r = built["debian"]
    _save(r.tag, tmp_path / "debian.tar")
    streamed, saved = read_image_files(r.tag), read_files_path(tmp_path / "debian.tar")
    assert streamed.tree.equals(saved.tree) and len(streamed.tree) > 10_000
    links = sum(len(row[6].encode("utf-8", "surrogateescape")) for layer in streamed.layers for row in layer.rows
                if row[1] == "symlink")
    assert sum(layer.tar_bytes for layer in streamed.layers) + links == r.size_bytes
    assert streamed.size_bytes < r.size_bytes  # the final tree: no copy a later layer hid, links weigh 0


def test_the_debian_variant_ships_go_build_cache_that_dive_does_not_flag(built) -> None:
    """dive scores the debian variant near 1.0, yet its `go build` layer left Go's build cache behind."""
    image = read_image_files(built["debian"].tag)
    found = leftovers(image)
    cache = found[found["path"].str.contains("/.cache/go-build/")]
    assert cache["size"].sum() > 1_000_000, found.groupby("kind")["size"].sum()
    assert cache["created_by"].str.contains("go build").all(), cache["created_by"].unique()


def _inspect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers", "inspect", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=dict(os.environ))


def test_the_gate_fails_debian_on_its_leftovers_and_passes_scratch_hardened(built) -> None:
    limits = ["--min-efficiency", "0.9", "--max-wasted-share", "0.1", "--max-leftovers", "1MB"]
    debian = _inspect("debian", *limits)
    assert debian.returncode == 1, debian.stdout + debian.stderr
    assert "FAIL  leftovers" in debian.stdout and "gate: failed (leftovers)" in debian.stdout, debian.stdout
    hardened = _inspect("scratch-hardened", *limits)
    assert hardened.returncode == 0, hardened.stdout + hardened.stderr
    assert "gate: passed" in hardened.stdout
