"""The image reader: `docker save` archives in the classic and the OCI layout, read as they stream.

Tests of internals. The OCI archive here is made from a real classic one (same layers, gzipped into
blobs/sha256/ under an index.json, as the containerd image store writes them), so the same image
must give the same figures in both layouts.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile

import pytest
from support import tar_of

from helpers import engine
from helpers.errors import KitError
from helpers.image import read_archive, read_image, stream_from_engine
from helpers.sizes import image_store


def _layer_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in {"app/bin": b"x" * 1000, "etc/passwd": b"root:x:0:0\n"}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        d = tarfile.TarInfo("app")
        d.type = tarfile.DIRTYPE
        t.addfile(d)
        link = tarfile.TarInfo("app/link")
        link.type, link.linkname = tarfile.SYMTYPE, "bin"
        t.addfile(link)
        hard = tarfile.TarInfo("app/hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "app/bin"
        t.addfile(hard)
    return buf.getvalue()


def to_oci(classic: bytes) -> bytes:
    """Repack a classic `docker save` archive into the OCI layout, with gzipped layer blobs."""
    with tarfile.open(fileobj=io.BytesIO(classic)) as t:
        manifest = json.loads(t.extractfile("manifest.json").read())[0]
        config = t.extractfile(manifest["Config"]).read()
        blobs = [t.extractfile(p).read() for p in manifest["Layers"]]
        layers = [b if b[:2] == b"\x1f\x8b" else gzip.compress(b, compresslevel=6, mtime=0) for b in blobs]
    files: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        files["blobs/sha256/" + digest.split(":")[1]] = data
        return {"digest": digest, "size": len(data)}

    oci_manifest = json.dumps({"schemaVersion": 2, "config": blob(config),
                               "layers": [blob(x) for x in layers]}).encode()
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [blob(oci_manifest)]}).encode()
    files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    return tar_of(dict(reversed(list(files.items()))))  # index last: a streamed reader must cope


def test_a_layer_counts_files_like_the_engine() -> None:
    """1000 + 11 bytes of files, a symlink counted as its target's length (3), the hard link once."""
    classic = tar_of({"abc/layer.tar": _layer_tar(), "manifest.json": b'[{"Layers": ["abc/layer.tar"]}]'})
    stats = read_archive(io.BytesIO(classic))
    assert stats.layout == "docker" and stats.unpacked_bytes == 1000 + 11 + 3
    assert stats.layers[0].blob_bytes == len(_layer_tar())
    assert 0 < stats.gzip_bytes < stats.layers[0].blob_bytes


def test_an_archive_without_its_layers_is_one_clear_error() -> None:
    broken = tar_of({"manifest.json": b'[{"Layers": ["abc/layer.tar"]}]'})
    with pytest.raises(KitError, match="does not hold the layers"):
        read_archive(io.BytesIO(broken))


@pytest.mark.docker
@pytest.mark.docker_only  # Podman's Size counts tar headers and metadata too (tests/test_engine_sizes.py)
def test_every_variant_reads_as_the_engine_counts_it(built) -> None:
    """On the classic store the engine's own `Size` is the unpacked figure: the reader must give it to the byte."""
    classic = image_store() == "classic"
    for name, r in built.items():
        stats = read_image(r.tag, compress=False)
        assert len(stats.layers) == r.fs_layers, name
        if classic:
            engine_size = int(engine.client().images.get(r.tag).attrs["Size"])
            assert stats.unpacked_bytes == engine_size, (name, stats.unpacked_bytes)  # either layout (Docker 26: OCI)


def test_a_symlink_counts_its_target_in_bytes() -> None:
    """A target with non-ASCII letters counts its UTF-8 bytes, as the engine's lstat does (ő is 2 bytes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        link = tarfile.TarInfo("etc/ssl/certs/x.0")
        link.type, link.linkname = tarfile.SYMTYPE, "Főtanúsítvány.pem"
        t.addfile(link)
    archive = tar_of({"abc/layer.tar": buf.getvalue(), "manifest.json": b'[{"Layers": ["abc/layer.tar"]}]'})
    assert read_archive(io.BytesIO(archive)).unpacked_bytes == len("Főtanúsítvány.pem".encode()) == 21


@pytest.mark.docker
@pytest.mark.docker_only  # compares with the engine's Size, which on Podman is not the unpacked figure
def test_the_oci_layout_gives_the_same_figures(built) -> None:
    r = built["distroless"]
    classic = b"".join(stream_from_engine(r.tag))
    a, b = read_archive(io.BytesIO(classic)), read_archive(io.BytesIO(to_oci(classic)))
    assert b.layout == "oci"  # a: "docker" from Docker 20.10, "oci" from Docker 26 (either store)
    assert b.unpacked_bytes == a.unpacked_bytes
    if image_store() == "classic":  # the classic store's Size is the unpacked figure
        assert a.unpacked_bytes == engine.client().images.get(r.tag).attrs["Size"]
    assert [x.unpacked_bytes for x in b.layers] == [x.unpacked_bytes for x in a.layers]
    # Gzip level 6 of the same tars: the same size whether the reader or the repacking gzipped them.
    assert abs(b.gzip_bytes - a.gzip_bytes) <= 64 * len(a.layers)
