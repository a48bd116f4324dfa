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
"""

from __future__ import annotations

import io
import posixpath
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from . import gobuild
from .errors import KitError
from .image import _Chunks, layout_of, open_layer, stream_from_engine, walk_archive
from .store import instruction_of

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
OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."

_KINDS = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file", tarfile.DIRTYPE: "dir",
          tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "device",
          tarfile.BLKTYPE: "device", tarfile.FIFOTYPE: "fifo"}

Row = tuple[str, str, int, int, int, int, str]  # ENTRY_COLUMNS


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
    entries: pd.DataFrame  # ENTRY_COLUMNS, in tar order, whiteout markers as they are
    files: pd.DataFrame  # FILE_COLUMNS, by path

    @property
    def tar_bytes(self) -> int:
        """Return the sum of its entries' sizes (what dive calls the layer's size)."""
        return int(self.entries["size"].sum())


@dataclass
class ImageFiles:
    """An image's layers' files, its final file tree and its config, read from one archive."""

    layers: list[LayerFiles]
    tree: pd.DataFrame  # TREE_COLUMNS, by path
    replaced: pd.DataFrame  # REPLACED_COLUMNS: copies overwritten or deleted by a later layer
    go_binaries: pd.DataFrame  # GO_COLUMNS: Go binaries of the final tree
    config: dict = field(default_factory=dict)  # the image config (its "config" holds User, ExposedPorts)
    layout: str = ""  # "docker" (classic) or "oci"
    small: dict[str, bytes] = field(default_factory=dict)  # final contents of the SMALL_FILES present

    def instruction(self, layer: int) -> str:
        """Return the Dockerfile line that made a layer."""
        return self.layers[layer].created_by


def _kind(e: tarfile.TarInfo) -> str:
    return _KINDS.get(e.type, "other")


def clean(name: str) -> str:
    """Return a tar entry's name as an absolute path ("/" for the root), cleaned as Go's path.Clean does."""
    path = posixpath.normpath(name)
    return "/" if path == "." else "/" + path.lstrip("/")


def _read_layer(blob: str, head: bytes, rest: IO[bytes]) -> _RawLayer:
    """Read one layer blob: a row per entry, the small files' contents, Go binaries' build info."""
    layer = _RawLayer([], {}, {})
    try:
        with open_layer(head, rest) as tar:
            for e in tar:
                path = clean(e.name)
                if path == "/":
                    continue  # "./": the root itself (dive skips it too)
                kind = _kind(e)
                layer.rows.append((path, kind, e.size, e.mode, e.uid, e.gid, e.linkname))
                if kind != "file" or e.size == 0:
                    continue
                if SMALL_FILES.match(path) and e.size <= SMALL_LIMIT:
                    layer.contents[path] = tar.extractfile(e).read()
                elif 64 <= e.size <= GO_LIMIT:
                    f = tar.extractfile(e)
                    first = f.read(4)
                    if gobuild.is_executable(first):
                        data = first + f.read()
                        if gobuild.GO_MAGIC in data:
                            layer.go[path] = gobuild.build_info(data)
    except (tarfile.TarError, EOFError, OSError) as err:
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
        self.kids.setdefault(posixpath.dirname(path), set()).add(path)

    def drop(self, path: str) -> None:
        self.at.pop(path, None)
        self.kids.get(posixpath.dirname(path), set()).discard(path)
        self.kids.pop(path, None)


def _apply(tree: _Tree, rows: list[Row], index: int) -> tuple[list[tuple], list[tuple]]:
    """Apply one layer's entries to the tree; return its FILE_COLUMNS rows and its REPLACED_COLUMNS rows."""
    writes: dict[str, Row] = {}
    marks: list[tuple[str, str, bool]] = []  # (target, marker, opaque)
    for row in rows:
        folder, base = posixpath.split(row[0])
        if base == OPAQUE:
            marks.append((folder, row[0], True))
        elif base.startswith(WHITEOUT):
            marks.append((posixpath.join(folder, base[len(WHITEOUT):]), row[0], False))
        else:
            writes[row[0]] = row  # a path written twice in one tar: the last one stands
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


def _frame(rows: list[tuple], columns: list[str], sort: bool = True) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=columns)
    return df.sort_values("path", kind="stable", ignore_index=True) if sort else df


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
        layers.append(LayerFiles(i, blob, diff_ids[i], steps[i], _frame(blobs[blob].rows, ENTRY_COLUMNS, sort=False),
                                 _frame(files, FILE_COLUMNS)))
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
    return ImageFiles(layers, _frame(final, TREE_COLUMNS), _frame(replaced, REPLACED_COLUMNS),
                      _frame(go, GO_COLUMNS), config, layout, small)


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
