"""What ``python -m helpers inspect TARGET`` says about an image: a summary, its files, its waste, its
attack surface, everything as JSON, and a gate that fails an image falling short of its limits.

TARGET is a saved archive (``docker save IMAGE -o FILE``, either layout: read offline, no engine), a
catalog variant (its tag on the engine), or any image reference on the engine (streamed as ``docker
save`` would write it). Everything here reads rows, not DataFrames: the summary, the gate and the
JSON never import pandas, so a 750 MB image is inspected in about a second.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalog import VARIANTS
from .dive import DIVE_VERSION, DiveFigures, dive_figures
from .errors import KitError
from .gate import GateResult, gate
from .inside import ImageFiles, read_files_path
from .results import mb_text
from .surface import Surface, attack_surface, surface_rows
from .waste import leftover_rows, reclaimable_rows

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".oci", ".docker")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kKMGT]i?B|[kKMGT]|B)?\s*$")
_UNITS = {"": 1, "B": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
SIZE_HELP = "a size with its unit: 1MB, 500kB, 2.5MiB, 0 (decimal kB/MB/GB as Docker writes them; KiB/MiB binary)"


def parse_size(text: str) -> int:
    """Return the bytes a size such as "1MB", "500kB", "2MiB", "1234" or "0" stands for."""
    m = _SIZE.match(text)
    if not m:
        raise KitError(f"'{text}' is not a size.", f"write {SIZE_HELP}.")
    unit = (m.group(2) or "").removesuffix("B")
    return round(float(m.group(1)) * _UNITS[unit])


def parse_fraction(text: str, what: str, most: float | None = 1.0) -> float:
    """Return a number from 0 to ``most`` (None: no upper bound), given as 0.9 or 90%; ``what`` names it ("an efficiency")."""
    try:
        value = float(text[:-1]) / 100 if text.strip().endswith("%") else float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or (most is not None and value > most):
        scale = f"from 0 to {most:g}" if most is not None else "of 0 or more"
        raise KitError(f"'{text}' is not {what}.", f"give a number {scale}, such as 0.9, or a percentage (90%).")
    return value


@dataclass(frozen=True)
class Target:
    """What to inspect: a saved archive on disk, or an image on the engine (a variant's tag, or any reference)."""

    text: str  # as given
    archive: Path | None = None
    ref: str = ""
    variant: str = ""

    @property
    def label(self) -> str:
        """Return how the report names the target."""
        if self.archive is not None:
            return str(self.archive)
        return f"{self.ref} (variant {self.variant})" if self.variant else self.ref


def target_of(text: str) -> Target:
    """Work out what TARGET means: an existing file, else a catalog variant, else an image reference.

    A name that looks like a path (a folder in front, ``./``, a ``.tar`` ending) and is no file is
    a missing file, not an image.
    """
    path = Path(text).expanduser()
    if path.is_dir():
        raise KitError(f"{text} is a folder, not an image archive.", "give the file `docker save IMAGE -o FILE` wrote.")
    if path.is_file():
        return Target(text, archive=path)
    if text in VARIANTS:
        return Target(text, ref=VARIANTS[text].tag, variant=text)
    if text.startswith((".", "/", "~")) or text.endswith(ARCHIVE_SUFFIXES) or not text.strip():
        raise KitError(f"There is no file {text}.",
                       f"check the path; an image on the engine is named as `docker image ls` lists it, a variant as one "
                       f"of: {', '.join(VARIANTS)}.")
    return Target(text, ref=text)


def read_target(target: Target) -> ImageFiles:
    """Read the target's files: the archive offline, or the image from the engine as `docker save` streams it."""
    if target.archive is not None:
        return read_files_path(target.archive)
    from . import engine, store
    from .inside import read_image_files

    with engine.guarded(f"saving {target.ref}"):
        if store.image_id(target.ref) is None:
            close = difflib.get_close_matches(target.ref, VARIANTS, n=1)
            hint = (f"build it first: `python -m helpers build {target.variant}`." if target.variant else
                    (f"did you mean the variant '{close[0]}'? " if close else "") +
                    "check the name with `docker image ls`, pull or build it, or give a saved archive "
                    "(`docker save IMAGE -o FILE`).")
            raise KitError(f"There is no image {target.ref} on this engine.", hint)
        return read_image_files(target.ref)


def equivalent_command(target: Target, archive: str = "image.tar") -> str:
    """Return the docker commands that do what inspecting the target does ("" for an archive: nothing to save)."""
    if target.archive is not None:
        return ""
    from .commands import inspect_command

    return inspect_command(target.ref, archive)


@dataclass
class Inspection:
    """Every figure ``inspect`` reports on one image, each computed once from its files."""

    target: Target
    image: ImageFiles
    runtime: bool = True  # a runtime image: compilers are leftovers (False for a builder)
    dive: DiveFigures = field(init=False)
    reclaim: list[tuple] = field(init=False)  # waste.RECLAIM_COLUMNS
    leftovers: list[tuple] = field(init=False)  # waste.LEFTOVER_COLUMNS
    surface: Surface = field(init=False)

    def __post_init__(self) -> None:
        self.dive = dive_figures(self.image)
        self.reclaim = reclaimable_rows(self.image)
        self.leftovers = leftover_rows(self.image, runtime=self.runtime)
        self.surface = attack_surface(self.image)

    @property
    def name(self) -> str:
        """Return the image's name: its tag in the archive, else the reference it was read by."""
        return (self.image.tags or [self.target.ref or "(untagged)"])[0]

    @property
    def reclaimable_bytes(self) -> int:
        """Return the bytes of every copy a later layer overwrote or deleted."""
        return sum(r[2] for r in self.reclaim)

    @property
    def leftover_bytes(self) -> int:
        """Return the bytes of the leftover files."""
        return sum(r[1] for r in self.leftovers)

    def leftover_kinds(self) -> list[tuple[str, int, int]]:
        """Return the leftovers per kind: (kind, files, bytes), largest first."""
        sums: dict[str, list[int]] = {}
        for r in self.leftovers:
            s = sums.setdefault(r[2], [0, 0])
            s[0] += 1
            s[1] += r[1]
        return sorted(((k, n, b) for k, (n, b) in sums.items()), key=lambda x: (-x[2], x[0]))


def size_text(n: float) -> str:
    """Write a file's bytes short: "512 B", "4.1 kB", "12.34 MB" (decimal units, as Docker writes them)."""
    if n < 1000:
        return f"{int(n)} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return mb_text(n) if n < 1e9 else f"{n / 1e9:.2f} GB"


def _percent(x: float) -> str:
    return f"{100 * x:.2f} %" if x != float("inf") else "inf"


def _plural(n: int, word: str, words: str = "") -> str:
    return f"{n:,} " + (word if n == 1 else words or word + "s")


def surface_line(s: Surface) -> str:
    """Say the attack surface in one line."""
    parts = []
    for what, count, which in surface_rows(s):
        if what == "runs as root":
            parts.append("runs as root" if count else f"runs as {which}")
        elif what == "OS":
            parts.append(which or "no OS release file")
        elif what == "exposed ports":
            parts.append(f"ports {which}" if count else "no exposed port")
        elif count:
            one = {"shells": "shell", "package managers": "package manager", "setuid/setgid files": "setuid/setgid file",
                   "OS packages": "OS package", "users": "user", "Go binaries": "Go binary"}
            named = what in ("shells", "package managers") and count <= 6
            parts.append(f"{count} {one.get(what, what) if count == 1 else what}" + (f" ({which})" if named else ""))
        else:
            parts.append(f"no {what}")
    return "; ".join(parts)


def summary_text(x: Inspection) -> str:
    """Return the short summary: size, layers, dive's figures, reclaimable bytes, leftovers by kind, surface."""
    im, d = x.image, x.dive
    kinds = x.leftover_kinds()
    left = ", ".join(f"{k} {mb_text(b)} ({_plural(n, 'file')})" for k, n, b in kinds[:4])
    left += f", and {len(kinds) - 4} more kinds" if len(kinds) > 4 else ""
    lines = [f"{x.name}  ({x.target.label}, {im.layout or 'docker'} layout)",
             f"  size         {mb_text(d.size_bytes)} in {_plural(len(im.layers), 'layer')}; "
             f"the final files {mb_text(im.size_bytes)} ({_plural(len(im.tree_rows), 'path')})",
             f"  dive         efficiency {_percent(d.efficiency)}, wasted {mb_text(d.wasted_bytes)}" +
             (f" ({_percent(d.wasted_user_share if d.wasted_bytes else 0.0)} of the layers after the first)"
              if d.user_size_bytes else ""),
             f"  reclaimable  {mb_text(x.reclaimable_bytes)} in {_plural(len(x.reclaim), 'copy', 'copies')} a later layer "
             "overwrote or deleted",
             f"  leftovers    {mb_text(x.leftover_bytes)}" + (f": {left}" if kinds else ""),
             f"  surface      {surface_line(x.surface)}"]
    return "\n".join(lines)


def _table(rows: list[tuple], heads: tuple[str, ...], right: tuple[int, ...] = ()) -> list[str]:
    """Lay rows out as text columns (the columns in ``right`` right-aligned), the last one unpadded."""
    cells = [tuple(str(c) for c in r) for r in [heads, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(heads))]
    out = []
    for r in cells:
        line = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r[:-1])]
        out.append("  ".join([*line, r[-1]]).rstrip())
    return out


def _more(total: int, shown: int) -> list[str]:
    return [f"  ... and {total - shown:,} more (--limit 0 shows all)"] if total > shown else []


def files_text(x: Inspection, layers: bool = False, limit: int = 0) -> str:
    """Return the final tree (path, kind, size, layer), or each layer's changes (``layers``)."""
    if not layers:
        rows = [(p, k, size_text(s), layer) for p, k, s, *_, layer, _by in x.image.tree_rows]
        shown = rows[:limit] if limit else rows
        head = f"The final tree: {_plural(len(rows), 'path')}, {mb_text(x.image.size_bytes)}"
        return "\n".join([head, *_table(shown, ("path", "kind", "size", "layer"), right=(2, 3)), *_more(len(rows), len(shown))])
    out = []
    for layer in x.image.layers:
        rows = [(action, p, k, size_text(s)) for p, k, s, *_, action, _marker in layer.changes]
        shown = rows[:limit] if limit else rows
        out += [f"Layer {layer.index}: {layer.created_by}", f"  {_plural(len(rows), 'change')}, {mb_text(layer.tar_bytes)}"]
        out += ["  " + line for line in _table(shown, ("action", "path", "kind", "size"), right=(3,))]
        out += _more(len(rows), len(shown)) + [""]
    return "\n".join(out).rstrip()


def waste_text(x: Inspection, limit: int = 10) -> str:
    """Return dive's figures and its inefficient files, the reclaimable copies, and the leftovers by rule."""
    d, steps = x.dive, [layer.created_by for layer in x.image.layers]

    def cut(rows: list) -> list:
        return rows[:limit] if limit else rows

    out = [f"dive {DIVE_VERSION}'s figures: efficiency {_percent(d.efficiency)}, wasted {mb_text(d.wasted_bytes)}"
           f" = {_percent(d.wasted_user_share if d.wasted_bytes else 0.0)} of {mb_text(d.user_size_bytes)} "
           "(every layer but the first)",
           "  paths written by two layers or more (dive counts every copy, the kept one too):"]
    out += ["  " + s for s in _table([(size_text(b), n, p) for p, n, b in cut(d.inefficient)], ("bytes", "copies", "path"),
                                     right=(0, 1))] if d.inefficient else ["  none"]
    out += _more(len(d.inefficient), len(cut(d.inefficient)))
    out += ["", f"Reclaimable: {mb_text(x.reclaimable_bytes)} in copies a later layer overwrote or deleted "
                "(downloaded and stored, never seen)"]
    rows = [(size_text(s), how, p, f"layer {layer}: {steps[layer][:60]}", f"layer {by}") for p, _k, s, layer, _w, how, by, _b
            in cut(x.reclaim)]
    out += ["  " + s for s in _table(rows, ("bytes", "how", "path", "written by", "hidden by"), right=(0,))] if rows \
        else ["  none"]
    out += _more(len(x.reclaim), len(rows))
    out += ["", f"Leftovers: {mb_text(x.leftover_bytes)} of files no {'runtime ' if x.runtime else ''}image needs"]
    for kind, n, b in x.leftover_kinds():
        mine = sorted((r for r in x.leftovers if r[2] == kind), key=lambda r: (-r[1], r[0]))
        lines = sorted({f"layer {r[5]}: {r[6][:70]}" for r in mine})
        whys = list(dict.fromkeys(r[3] for r in mine))
        out += [f"  {kind}: {mb_text(b)} in {_plural(n, 'file')}  (a leftover in {mine[0][4]}; written by "
                f"{'; '.join(lines[:2])}{'; ...' if len(lines) > 2 else ''})"]
        out += [f"    why: {why}" for why in whys]
        out += ["    " + s for s in _table([(size_text(r[1]), r[0]) for r in cut(mine)], ("bytes", "path"), right=(0,))]
        out += ["  " + s for s in _more(len(mine), len(cut(mine)))]
    if not x.leftovers:
        out.append("  none")
    return "\n".join(out)


def surface_text(x: Inspection) -> str:
    """Return the attack surface: one line per aspect, then the programs, setuid files, users and Go binaries."""
    s = x.surface
    out = ["Attack surface"] + ["  " + line for line in _table(surface_rows(s), ("what", "count", "which"), right=(1,))]
    if s.shell_rows or s.package_manager_rows:
        out += ["", "Programs on the PATH"]
        out += ["  " + line for line in _table(s.shell_rows + s.package_manager_rows, ("name", "path", "resolves to"))]
    if s.setuid_rows:
        out += ["", "setuid/setgid files"] + ["  " + line for line in _table(s.setuid_rows, ("path", "mode", "bits", "uid", "gid"))]
    if s.user_rows:
        out += ["", "Users (/etc/passwd)"] + ["  " + line for line in _table(s.user_rows, ("name", "uid", "gid", "home", "shell"))]
    if s.go_rows:
        out += ["", "Go binaries"]
        out += ["  " + line for line in _table([(r[0], r[2], r[3], f"CGO_ENABLED={r[5] or '?'}", r[9] or "") for r in s.go_rows],
                                                ("path", "go", "package", "cgo", "error"))]
    return "\n".join(out)


def run_gate(x: Inspection, min_efficiency: float | None, max_wasted_share: float | None,
             max_leftovers: int | None) -> list[GateResult]:
    """Check the image against the limits given (a limit not given is no rule)."""
    return gate(x.image, min_efficiency, max_wasted_share, max_leftovers, runtime=x.runtime)


def _value_text(r: GateResult) -> tuple[str, str]:
    if r.rule == "leftovers":
        return mb_text(r.value), mb_text(r.limit)
    return _percent(r.value), _percent(r.limit)


def gate_text(results: list[GateResult], top: int = 5) -> str:
    """Say each rule's verdict; under a failed rule, the largest files behind it."""
    out = []
    for r in results:
        value, limit = _value_text(r)
        sign = ">=" if r.rule == "efficiency" else "<="
        out.append(f"{'PASS' if r.passed else 'FAIL'}  {r.rule}: {value} (limit {sign} {limit})")
        if not r.passed:
            culprits = r.culprits(top)
            out += ["      " + s for s in _table([(size_text(b), p) for p, b in culprits], ("bytes", "path"), right=(0,))]
            if len(r.rows) > len(culprits):
                out.append(f"      ... {len(r.rows) - len(culprits):,} more files (--waste lists them)")
    failed = [r.rule for r in results if not r.passed]
    out.append(f"gate: failed ({', '.join(failed)})" if failed else "gate: passed")
    return "\n".join(out)


def _records(rows: list[tuple], columns: list[str]) -> list[dict[str, Any]]:
    return [dict(zip(columns, r)) for r in rows]


def as_json(x: Inspection, files: bool = False, layers: bool = False, results: list[GateResult] | None = None) -> str:
    """Return everything as JSON: the image, dive's figures, reclaimable, leftovers, surface (and files, gate)."""
    from .inside import FILE_COLUMNS, GO_COLUMNS, TREE_COLUMNS
    from .surface import PACKAGE_COLUMNS, PROGRAM_COLUMNS, SETUID_COLUMNS, USER_COLUMNS
    from .waste import LEFTOVER_COLUMNS, RECLAIM_COLUMNS

    im, d, s = x.image, x.dive, x.surface
    doc: dict[str, Any] = {
        "image": {"name": x.name, "target": x.target.text, "layout": im.layout, "size_bytes": d.size_bytes,
                  "final_bytes": im.size_bytes, "paths": len(im.tree_rows), "user": s.user,
                  "layers": [{"index": layer.index, "created_by": layer.created_by, "diff_id": layer.diff_id,
                              "entries": len(layer.rows), "bytes": layer.tar_bytes} for layer in im.layers]},
        "dive": {"version": DIVE_VERSION, "efficiency": d.efficiency, "wasted_bytes": d.wasted_bytes,
                 "user_size_bytes": d.user_size_bytes, "wasted_user_share": d.wasted_user_share if d.wasted_bytes else 0.0,
                 "inefficient_files": _records(d.inefficient, ["path", "count", "bytes"])},
        "reclaimable": {"bytes": x.reclaimable_bytes, "copies": _records(x.reclaim, RECLAIM_COLUMNS)},
        "leftovers": {"bytes": x.leftover_bytes, "runtime_image": x.runtime,
                      "by_kind": [{"kind": k, "files": n, "bytes": b} for k, n, b in x.leftover_kinds()],
                      "files": _records(x.leftovers, LEFTOVER_COLUMNS)},
        "surface": {"summary": _records(surface_rows(s), ["what", "count", "which"]),
                    "shells": _records(s.shell_rows, PROGRAM_COLUMNS),
                    "package_managers": _records(s.package_manager_rows, PROGRAM_COLUMNS),
                    "setuid": _records(s.setuid_rows, SETUID_COLUMNS), "packages": _records(s.package_rows, PACKAGE_COLUMNS),
                    "users": _records(s.user_rows, USER_COLUMNS), "go_binaries": _records(s.go_rows, GO_COLUMNS),
                    "runs_as_root": s.runs_as_root, "ports": s.ports, "os": s.os_release},
    }
    if files and layers:
        doc["layers_files"] = [{"index": layer.index, "created_by": layer.created_by,
                                "changes": _records(layer.changes, FILE_COLUMNS)} for layer in im.layers]
    elif files:
        doc["tree"] = _records(im.tree_rows, TREE_COLUMNS)
    if results is not None:
        doc["gate"] = {"passed": all(r.passed for r in results),
                       "rules": [{"rule": r.rule, "limit": r.limit, "value": r.value, "passed": r.passed,
                                  "files": len(r.rows), "top": [{"path": p, "bytes": b} for p, b in r.culprits(5)]}
                                 for r in results]}
    return json.dumps(doc, indent=1)

