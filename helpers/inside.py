"""What is inside an image: every layer's files and the final file tree, read from `docker save`.

One streamed pass over the archive (``image.walk_archive``, either layout), nothing unpacked to disk.
No file's contents are kept but those of a few small files (users, OS packages: ``SMALL_FILES``) and
the build info of the Go binaries found (``gobuild``). Per layer:
- ``entries``: its tar's entries as they are (whiteout markers included), one row each;
- ``files``: what it does to the filesystem below it, each path ``added``, ``changed`` or
  ``deleted``. ``.wh.NAME`` deletes NAME (and what is under it) of the layers below; a folder's
  ``.wh..wh..opq`` hides everything the layers below put in that folder; a file written where a
  folder was removes the folder's contents (as the engine's tar extraction does);
- ``created_by``: the Dockerfile line that made it, from the config's history (entries marked
  ``empty_layer``, such as ENV or CMD, make no layer and are skipped).
Per image: ``tree``, the final file tree, each path with the layer that last wrote it; ``replaced``,
every copy of a path that a later layer overwrote or deleted (bytes a learner pays for but never sees).
Sizes are a tar entry's size: a file's bytes, 0 for folders, symlinks and hard links (as dive counts).

Lean by design (a 750 MB image is read in under half a second, half of dive's time): each layer's tar is
read by ``tarentries``, not ``tarfile`` (which took most of the time); a saved file is read at random,
headers only, skipping every file's bytes; a Go binary's build info comes from a few pieces of it
(``gobuild.build_info_from``). A gzipped layer (OCI layout) is read as a stream through ``gzip``.
Every table is kept as plain rows (tuples, in the column order of ``ENTRY_COLUMNS`` and the like); the
pandas DataFrames (``entries``, ``files``, ``tree``, ...) are made on first use, so a caller that needs
only figures (the command line's summary) never imports pandas.
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import IO, TYPE_CHECKING

from . import gobuild
from .dockerfile import instruction_of
from .errors import KitError
from .image import _Chunks, _Counting, layout_of, seekable, stream_from_engine, walk_archive
from .tarentries import BadTar, TarEntry, read_entries

if TYPE_CHECKING:
    import pandas as pd

ENTRY_COLUMNS = ["path", "kind", "size", "mode", "uid", "gid", "linkname"]
FILE_COLUMNS = [*ENTRY_COLUMNS, "action", "marker"]
TREE_COLUMNS = [*ENTRY_COLUMNS, "layer", "created_by"]
REPLACED_COLUMNS = ["path", "kind", "size", "layer", "by_layer", "how"]
GO_COLUMNS = ["path", "layer", "go", "package", "main", "CGO_ENABLED", "-trimpath", "-ldflags", "settings", "error"]

# Small files whose contents the attack-surface report reads: users, OS release, installed packages.
SMALL_FILES = re.compile(r"^/(etc/passwd|etc/group|etc/os-release|usr/lib/os-release|var/lib/dpkg/status"
                         r"|var/lib/dpkg/status\.d/[^/]+|lib/apk/db/installed)$")
SMALL_LIMIT = 16 << 20  # bytes: a dpkg status of a large image is a few MB
GO_LIMIT = 512 << 20  # an executable is read into memory (to find Go's build info) only up to this size
GZIP_MAGIC = b"\x1f\x8b"
OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."

_KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file", tarfile.DIRTYPE: "dir",
          tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "device",
          tarfile.BLKTYPE: "device", tarfile.FIFOTYPE: "fifo"}

Row = tuple[str, str, int, int, int, int, str]  # ENTRY_COLUMNS
FileRow = tuple[str, str, int, int, int, int, str, str, str]  # FILE_COLUMNS
TreeRow = tuple[str, str, int, int, int, int, str, int, str]  # TREE_COLUMNS
ReplacedRow = tuple[str, str, int, int, int, str]  # REPLACED_COLUMNS
GoRow = tuple[str, int, str, str, str, str, str, str, str, str]  # GO_COLUMNS


def frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """Return rows as a DataFrame (pandas is imported here, on first need)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


@dataclass
class _RawLayer:
    """One layer blob as read from the stream: its entries, and the few contents kept."""

    rows: list[Row]
    contents: dict[str, bytes]
    go: dict[str, dict]


@dataclass
class LayerFiles:
    """One filesystem layer: its tar's entries, what they change, and the line that made it."""

    index: int
    blob: str  # where it sits in the archive
    diff_id: str  # from the config's rootfs ("" when the config has none)
    created_by: str  # the Dockerfile line, as `docker history` shows it ("(missing)" without history)
    rows: list[Row]  # ENTRY_COLUMNS, in tar order, whiteout markers as they are
    changes: list[FileRow]  # FILE_COLUMNS, by path

    @cached_property
    def entries(self) -> pd.DataFrame:
        """Return its tar's entries as a table (ENTRY_COLUMNS), in tar order."""
        return frame(self.rows, ENTRY_COLUMNS)

    @cached_property
    def files(self) -> pd.DataFrame:
        """Return what it does to the layers below as a table (FILE_COLUMNS), by path."""
        return frame(self.changes, FILE_COLUMNS)

    @property
    def tar_bytes(self) -> int:
        """Return the sum of its entries' sizes (what dive calls the layer's size)."""
        return sum(r[2] for r in self.rows)


@dataclass
class ImageFiles:
    """An image's layers' files, its final file tree and its config, read from one archive."""

    layers: list[LayerFiles]
    tree_rows: list[TreeRow]  # TREE_COLUMNS, by path
    replaced_rows: list[ReplacedRow]  # REPLACED_COLUMNS: copies overwritten or deleted by a later layer
    go_rows: list[GoRow]  # GO_COLUMNS: Go binaries of the final tree
    config: dict = field(default_factory=dict)  # the image config (its "config" holds User, ExposedPorts)
    layout: str = ""  # "docker" (classic) or "oci"
    small: dict[str, bytes] = field(default_factory=dict)  # final contents of the SMALL_FILES present
    tags: list[str] = field(default_factory=list)  # the names the archive gives the image (RepoTags, OCI ref names)

    def instruction(self, layer: int) -> str:
        """Return the Dockerfile line that made a layer."""
        return self.layers[layer].created_by

    @cached_property
    def tree(self) -> pd.DataFrame:
        """Return the final file tree as a table (TREE_COLUMNS), by path."""
        return frame(self.tree_rows, TREE_COLUMNS)

    @cached_property
    def replaced(self) -> pd.DataFrame:
        """Return every copy a later layer overwrote or deleted (REPLACED_COLUMNS), by path."""
        return frame(self.replaced_rows, REPLACED_COLUMNS)

    @cached_property
    def go_binaries(self) -> pd.DataFrame:
        """Return the Go binaries of the final tree and their build info (GO_COLUMNS), by path."""
        return frame(self.go_rows, GO_COLUMNS)

    @property
    def size_bytes(self) -> int:
        """Return the bytes of the final tree's files (tar sizes: links and folders weigh 0)."""
        return sum(r[2] for r in self.tree_rows)


def clean(name: str) -> str:
    """Return a tar entry's name as an absolute path ("/" for the root), cleaned as Go's path.Clean does."""
    if name and name[0] not in "./" and name[-1] != "/" and "//" not in name and "/." not in name:
        return "/" + name  # clean already (no empty, "." or ".." part): as normpath gives it, at a fifth of the cost
    path = posixpath.normpath(name)
    return "/" if path == "." else "/" + path.lstrip("/")


def _entries(head: bytes, rest: IO[bytes]) -> Iterator[TarEntry]:
    """Return a layer blob's entries: at random where it can seek and is no gzip (file bytes skipped), else streamed."""
    if head[:2] == GZIP_MAGIC:
        import gzip  # only an OCI archive's layers may be gzipped

        raw = io.BufferedReader(_Counting(head, rest, gzip=False), buffer_size=1 << 20)  # the blob from its start
        return read_entries(gzip.GzipFile(fileobj=raw, mode="rb"), at_random=False)
    return read_entries(rest, head, at_random=seekable(rest))


def _read_layer(blob: str, head: bytes, rest: IO[bytes]) -> _RawLayer:
    """Read one layer blob: a row per entry, the small files' contents, Go binaries' build info."""
    layer = _RawLayer([], {}, {})
    rows = layer.rows
    try:
        for e in _entries(head, rest):
            path = clean(e.name)
            if path == "/":
                continue  # "./": the root itself (dive skips it too)
            kind = _KINDS.get(e.type, "other")
            size = e.size
            rows.append((path, kind, size, e.mode, e.uid, e.gid, e.linkname))
            if kind != "file" or size == 0:
                continue
            if SMALL_FILES.match(path) and size <= SMALL_LIMIT:
                layer.contents[path] = e.read()
            elif 64 <= size <= GO_LIMIT:
                first = e.read(4)
                if not gobuild.is_executable(first):
                    continue
                if e.seekable():  # else a stream: each file's bytes go by once
                    info = gobuild.build_info_from(e, size)
                else:
                    data = first + e.read()
                    info = gobuild.build_info(data) if gobuild.GO_MAGIC in data else None
                if info is not None:
                    layer.go[path] = info
    except (BadTar, tarfile.TarError, EOFError, OSError, zlib.error) as err:  # TarError: the archive is cut short
        raise KitError("A layer of the image archive could not be read as a tar.",
                       "save the image again (`docker save IMAGE -o FILE`); the file may be cut short.",
                       detail=f"{blob}: {err}") from None
    return layer


class _Tree:
    """The filesystem as the layers so far make it: path -> (row, layer), and each folder's children."""

    def __init__(self) -> None:
        self.at: dict[str, tuple[Row, int]] = {}
        self.kids: dict[str, set[str]] = {}

    def under(self, folder: str) -> list[str]:
        """Return every path below a folder (not the folder itself)."""
        found, todo = [], list(self.kids.get(folder, ()))
        while todo:
            p = todo.pop()
            found.append(p)
            todo.extend(self.kids.get(p, ()))
        return found

    def put(self, path: str, row: Row, layer: int) -> None:
        self.at[path] = (row, layer)
        self.kids.setdefault(_folder(path), set()).add(path)

    def drop(self, path: str) -> None:
        self.at.pop(path, None)
        self.kids.get(_folder(path), set()).discard(path)
        self.kids.pop(path, None)


def _folder(path: str) -> str:
    """Return the folder of a path clean() gave (posixpath.dirname's answer, at a third of its cost)."""
    return path[:path.rfind("/")] or "/"


def _apply(tree: _Tree, rows: list[Row], index: int) -> tuple[list[FileRow], list[ReplacedRow]]:
    """Apply one layer's entries to the tree; return its FILE_COLUMNS rows and its REPLACED_COLUMNS rows."""
    writes: dict[str, Row] = {}
    marks: list[tuple[str, str, bool]] = []  # (target, marker, opaque)
    for row in rows:
        path = row[0]
        base = path[path.rfind("/") + 1:]
        if not base.startswith(WHITEOUT):
            writes[path] = row  # a path written twice in one tar: the last one stands
        elif base == OPAQUE:
            marks.append((_folder(path), path, True))
        else:
            marks.append((posixpath.join(_folder(path), base[len(WHITEOUT):]), path, False))
    deleted: dict[str, str] = {}  # path of the layers below -> the marker (or write) that removes it
    for target, marker, opaque in marks:
        victims = tree.under(target) if opaque else [target] * (target in tree.at) + tree.under(target)
        for v in victims:
            if v not in writes:
                deleted.setdefault(v, marker)
    for path, row in writes.items():
        if row[1] != "dir" and path in tree.at and tree.at[path][0][1] == "dir":
            for v in tree.under(path):  # a file where a folder was: the folder's contents go
                if v not in writes:
                    deleted.setdefault(v, path)
    files, replaced = [], []
    for path, marker in deleted.items():
        old, layer = tree.at[path]
        files.append((*old, "deleted", marker))
        replaced.append((path, old[1], old[2], layer, index, "deleted"))
    for path, row in writes.items():
        if path in tree.at:
            old, layer = tree.at[path]
            replaced.append((path, old[1], old[2], layer, index, "overwritten"))
        files.append((*row, "changed" if path in tree.at else "added", ""))
    for path in sorted(deleted, key=len, reverse=True):
        tree.drop(path)
    for path, row in writes.items():
        tree.put(path, row, index)
    return files, replaced


def _by_path(rows: list) -> list:
    return sorted(rows, key=itemgetter(0))  # stable: a path twice keeps its order


def history_of(config: dict, count: int) -> list[str]:
    """Return the Dockerfile line of each of ``count`` layers, from the config's history (as dive maps them)."""
    steps = [instruction_of(h.get("created_by", "")) for h in config.get("history") or [] if not h.get("empty_layer")]
    return (steps + ["(missing)"] * count)[:count]


def files_of(blobs: dict[str, _RawLayer], docs: dict[str, object]) -> ImageFiles:
    """Put read layers in the image's order and work out each one's changes and the final tree."""
    paths, layout, config = layout_of(blobs, docs)
    steps = history_of(config, len(paths))
    diff_ids = ((config.get("rootfs") or {}).get("diff_ids") or []) + [""] * len(paths)
    tree, layers, replaced = _Tree(), [], []
    for i, blob in enumerate(paths):
        files, gone = _apply(tree, blobs[blob].rows, i)
        replaced += gone
        layers.append(LayerFiles(i, blob, diff_ids[i], steps[i], blobs[blob].rows, _by_path(files)))
    final = [(*row, layer, steps[layer]) for row, layer in tree.at.values()]
    small = {p: c for p, (_, layer) in tree.at.items() if (c := blobs[paths[layer]].contents.get(p)) is not None}
    go = []
    for path, (_, layer) in tree.at.items():
        info = blobs[paths[layer]].go.get(path)
        if info is not None:
            s = info.get("settings", {})
            go.append((path, layer, info.get("go", ""), info.get("path", ""), info.get("main", ""),
                       s.get("CGO_ENABLED", ""), s.get("-trimpath", ""), s.get("-ldflags", ""),
                       " ".join(f"{k}={v}" for k, v in s.items()), info.get("error", "")))
    return ImageFiles(layers, _by_path(final), _by_path(replaced), _by_path(go), config, layout, small, tags_of(docs))


def tags_of(docs: dict[str, object]) -> list[str]:
    """Return the names an archive gives its (first) image: manifest.json's RepoTags, else the OCI index's ref names."""
    manifest = docs.get("manifest.json")
    if isinstance(manifest, list) and manifest and isinstance(manifest[0], dict) and manifest[0].get("RepoTags"):
        return [str(t) for t in manifest[0]["RepoTags"]]
    index = docs.get("index.json")
    names = []
    for m in (index.get("manifests") or []) if isinstance(index, dict) else []:
        notes = m.get("annotations") or {}
        name = notes.get("io.containerd.image.name") or notes.get("org.opencontainers.image.ref.name")
        if name and name not in names:
            names.append(str(name))
    return names[:1]


def read_files(stream: IO[bytes]) -> ImageFiles:
    """Read a `docker save` archive (either layout) as it streams: every layer's files and the final tree."""
    return files_of(*walk_archive(stream, _read_layer))


def read_files_path(path: str | Path) -> ImageFiles:
    """Read a `docker save` archive file (either layout)."""
    try:
        with open(path, "rb") as f:
            return read_files(f)
    except (tarfile.TarError, OSError) as err:
        raise KitError(f"{path} could not be read as an image archive.",
                       "give the file `docker save IMAGE -o FILE` wrote.", detail=str(err)) from None


def read_image_files(ref: str) -> ImageFiles:
    """Read an image from the engine (`docker save`, streamed): every layer's files and the final tree."""
    chunks: Iterator[bytes] = stream_from_engine(ref)
    return read_files(io.BufferedReader(_Chunks(chunks), buffer_size=1 << 20))
