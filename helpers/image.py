"""Reading an image the way the engine hands it out (`docker save`), without unpacking it to disk.

One streamed pass over the archive gives, for every layer: its files' bytes as the classic engine
counts an image's size (the "unpacked" figure: every entry but folders, a symlink counting its
target's length in bytes, a hard link once), the bytes of its tar, and the bytes it takes gzipped (what a
registry stores and a learner downloads). Both layouts are read:
- the classic engine's: ``manifest.json``, ``<id>/layer.tar``;
- the OCI layout that the containerd image store (and ``skopeo copy ... oci-archive:``) writes:
  ``index.json``, ``blobs/sha256/<digest>``, layers possibly gzipped already.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TypeVar

from .errors import KitError

T = TypeVar("T")

GZIP_LEVEL = 6  # what `docker push` uses (Go's gzip.DefaultCompression)


@dataclass
class LayerStats:
    """What one layer holds: unpacked bytes, its blob's bytes as stored (a tar, or a gzipped tar), gzipped bytes, entries."""

    path: str  # where it sits in the archive
    unpacked_bytes: int
    blob_bytes: int
    gzip_bytes: int
    entries: int


@dataclass
class ImageStats:
    """What an image archive holds, layer by layer, oldest first."""

    layers: list[LayerStats] = field(default_factory=list)
    layout: str = ""  # "docker" (classic) or "oci"

    @property
    def unpacked_bytes(self) -> int:
        """Return the image's size as the classic engine counts it."""
        return sum(x.unpacked_bytes for x in self.layers)

    @property
    def gzip_bytes(self) -> int:
        """Return what the image's layers take gzipped: what a registry stores."""
        return sum(x.gzip_bytes for x in self.layers)


class _Counting(io.RawIOBase):
    """Read a stream through, counting its bytes and gzipping them (to count the gzipped bytes)."""

    def __init__(self, head: bytes, rest: IO[bytes], gzip: bool) -> None:
        self.head, self.rest = head, rest
        self.n = 0
        self.z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gzip else None
        self.zn = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.head:
            data, self.head = self.head[: len(b)], self.head[len(b):]
        else:
            data = self.rest.read(len(b))
        n = len(data)
        b[:n] = data
        self.n += n
        if self.z is not None and n:
            self.zn += len(self.z.compress(data))
        return n

    def gzipped(self) -> int:
        """Return the gzipped size of everything read (finishing the gzip stream)."""
        if self.z is not None:
            self.zn += len(self.z.flush())
            self.z = None
        return self.zn


def _layer(path: str, head: bytes, rest: IO[bytes], compress: bool) -> LayerStats:
    """Count one layer blob: a tar, or a gzipped tar (its size is then its gzipped size).

    ``compress=False`` skips gzipping an uncompressed layer (its gzipped size is then 0): the
    unpacked figure costs only the read, the gzipped one about 20 s per 500 MB on two cores.
    """
    gzipped = head[:2] == b"\x1f\x8b"
    counter = _Counting(head, rest, gzip=compress and not gzipped)
    raw = io.BufferedReader(counter, buffer_size=1 << 20)
    unpacked, entries, seen = 0, 0, set()
    with tarfile.open(fileobj=raw, mode="r|gz" if gzipped else "r|") as inner:
        for e in inner:
            entries += 1
            if e.isdir() or e.islnk():
                continue  # folders do not count; a hard link is the file it names, counted once
            if e.issym():
                unpacked += len(e.linkname.encode("utf-8", "surrogateescape"))  # its target's length, in bytes
            elif e.name not in seen:
                unpacked += e.size
            seen.add(e.name)
    while raw.read(1 << 20):  # the tar's end padding
        pass
    blob_bytes = counter.n
    return LayerStats(path, unpacked, blob_bytes, counter.n if gzipped else counter.gzipped(), entries)


def seekable(f: IO[bytes]) -> bool:
    """Say whether a file object can seek (a file on disk, bytes in memory), not just stream."""
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False


class _Member(io.RawIOBase):
    """One member's bytes of an archive that can seek, each read one call: ``os.pread`` on a file on disk.

    What ``TarFile.extractfile`` gives reads through three layers of Python (a buffer, tarfile's file in a
    file, the archive's own buffer), about twice the cost per read: a layer read at random reads thousands
    of pieces. Reads past the archive's end raise tarfile's "unexpected end of data", as its file objects do.
    """

    def __init__(self, archive: IO[bytes], offset: int, size: int) -> None:
        self.archive, self.start, self.size, self.at = archive, offset, size, 0
        # pread only on a plain file: a seekable wrapper (a GzipFile) has a file number whose offsets are not its own
        raw = getattr(archive, "raw", archive)
        self.fd = raw.fileno() if isinstance(raw, io.FileIO) else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.at, io.SEEK_END: self.size}[whence]
        self.at = min(max(base + offset, 0), self.size)  # clamped to the member, as tarfile's file objects are
        return self.at

    def read(self, n: int | None = -1) -> bytes:
        n = self.size - self.at if n is None or n < 0 else min(n, self.size - self.at)
        if self.fd is not None:
            data = os.pread(self.fd, n, self.start + self.at)
            while len(data) < n:  # a read of over 2 GB comes in parts
                more = os.pread(self.fd, n - len(data), self.start + self.at + len(data))
                if not more:
                    break
                data += more
        else:
            self.archive.seek(self.start + self.at)
            data = self.archive.read(n)
        if len(data) < n:
            raise tarfile.ReadError("unexpected end of data")
        self.at += n
        return data

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


def _is_layer(head: bytes) -> bool:
    return head[:2] == b"\x1f\x8b" or (len(head) >= 262 and head[257:262] == b"ustar")


def walk_archive(stream: IO[bytes], read_layer: Callable[[str, bytes, IO[bytes]], T]
                 ) -> tuple[dict[str, T], dict[str, object]]:
    """Read a `docker save` archive (either layout) in one streamed pass.

    Every layer blob goes through ``read_layer(path, first 512 bytes, the rest)``; every JSON document
    is parsed. A stream that can seek (a saved file) is read at random: a layer's ``rest`` then can
    seek too (``seekable``), so a reader may skip what it does not need instead of reading through it. A layer saved as a symlink to another (``docker save`` of several images writes a layer
    they share once) is the layer it names. Returns the layers' results and the documents, by path.
    """
    blobs: dict[str, T] = {}
    docs: dict[str, object] = {}
    links: dict[str, str] = {}
    at_random = seekable(stream)
    if at_random:
        start = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(start)
    with tarfile.open(fileobj=stream, mode="r:" if at_random else "r|", bufsize=1 << 20) as outer:
        for member in outer:
            if member.issym() and member.name.endswith(".tar"):
                links[member.name] = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
                continue
            if not member.isfile():
                continue
            f: IO[bytes] | None
            if at_random and not member.sparse and member.offset_data + member.size <= end:
                f = _Member(stream, member.offset_data, member.size)
            else:  # a member the archive cuts short fails as tarfile's own file objects make it fail
                f = outer.extractfile(member)
            if f is None:
                continue
            head = f.read(512)
            if _is_layer(head):
                blobs[member.name] = read_layer(member.name, head, f)
            elif member.name.endswith(".json") or member.name.startswith("blobs/") and head[:1] == b"{":
                try:
                    docs[member.name] = json.loads(head + f.read())
                except ValueError:
                    pass
    for name, target in links.items():
        if target in blobs:
            blobs[name] = blobs[target]
    return blobs, docs


def read_archive(stream: IO[bytes], compress: bool = True) -> ImageStats:
    """Read a `docker save` archive (either layout) as it streams, and return its layers' figures."""
    blobs, docs = walk_archive(stream, lambda path, head, rest: _layer(path, head, rest, compress))
    paths, layout, _ = layout_of(blobs, docs)
    return ImageStats([blobs[p] for p in paths], layout)


def layout_of(blobs: Mapping[str, object], docs: Mapping[str, object]) -> tuple[list[str], str, dict]:
    """Return the image's layer paths in order (from manifest.json, else the OCI index), its layout and its config.

    An archive of several images gives the first one's (as manifest.json lists them).
    """
    layout = "oci" if "index.json" in docs else "docker"
    manifest = docs.get("manifest.json")
    if isinstance(manifest, list) and manifest:
        paths = manifest[0].get("Layers") or []
        config = docs.get(manifest[0].get("Config") or "", {})
    else:
        index = docs.get("index.json") or {}
        digest = ((index.get("manifests") or [{}])[0]).get("digest", "") if isinstance(index, dict) else ""
        oci = docs.get("blobs/" + digest.replace(":", "/"), {})
        while isinstance(oci, dict) and oci.get("manifests"):  # an index inside the index
            oci = docs.get("blobs/" + oci["manifests"][0]["digest"].replace(":", "/"), {})
        oci = oci if isinstance(oci, dict) else {}
        paths = ["blobs/" + x["digest"].replace(":", "/") for x in oci.get("layers", [])]
        config = docs.get("blobs/" + (oci.get("config") or {}).get("digest", "").replace(":", "/"), {})
    missing = [p for p in paths if p not in blobs]
    if missing or not paths:
        raise KitError("The image archive does not hold the layers its manifest names.",
                       "save the image again (`docker save IMAGE -o FILE`); the file may be cut short.",
                       detail=f"missing: {missing[:3]}" if missing else "no manifest found")
    return paths, layout, config if isinstance(config, dict) else {}


def stream_from_engine(ref: str) -> Iterator[bytes]:
    """Yield `docker save` of exactly this image (a repository name alone would save every tag)."""
    from . import engine

    api = engine.client().api
    res = api._get(api._url("/images/{0}/get", ref), stream=True)
    api._raise_for_status(res)
    try:
        yield from res.iter_content(chunk_size=1 << 20)
    finally:
        res.close()


class _Chunks(io.RawIOBase):
    """A file-like view of an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.buf:
            try:
                self.buf = next(self.chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n


def read_image(ref: str, compress: bool = True) -> ImageStats:
    """Read an image from the engine (`docker save`, streamed) and return its layers' figures."""
    return read_archive(io.BufferedReader(_Chunks(stream_from_engine(ref)), buffer_size=1 << 20), compress)
