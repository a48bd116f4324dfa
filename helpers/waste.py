"""What an image carries that it need not: reclaimable bytes and leftovers, each tied to the line that wrote it.

dive's "wasted bytes" (``dive.py``) counts every copy of a path written twice, the kept one too, and
never flags a file written once, however useless. Beside it the kit gives:
- **reclaimable** bytes: every copy of a path that a later layer overwrote or deleted (all but the
  visible copy, and all of a deleted file's): bytes the learner downloads and stores but never sees;
- **leftovers**: files of the final image that no image should ship, found by a rule table
  (``LEFTOVER_RULES``: pattern, kind, why, scope): build and package caches, package lists, and
  compilers in an image that only runs a program. dive flags none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .inside import ImageFiles, frame

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Rule:
    """One kind of leftover: the paths it matches (``*`` within a name, ``**`` across folders), and why it is one."""

    pattern: str
    kind: str
    why: str
    scope: str = "any image"  # or "runtime image": fine in a builder, a leftover in what runs
    unless: str = ""  # a regex of paths the pattern matches that are not leftovers

    def regex(self) -> re.Pattern[str]:
        """Return the pattern as a regex over absolute paths."""
        parts = re.split(r"(\*\*|\*|\?)", self.pattern)
        return re.compile("".join({"**": ".*", "*": "[^/]*", "?": "[^/]"}.get(p, re.escape(p)) for p in parts) + "$")


_GO_CACHE = "Go's build cache (GOCACHE): packages compiled for the next build; the program never reads it"
_GO_MOD = "Go's module cache (GOMODCACHE): every dependency's source as downloaded; the binary already holds what it uses"
_PIP = "pip's cache: wheels and downloads kept for the next install (`pip install --no-cache-dir`)"
_NPM = "npm's cache (_cacache): kept for the next install (`npm cache clean --force` in the same RUN)"
_GO_TOOLCHAIN = "the Go toolchain: it compiles the program; a runtime image only runs the compiled binary"
_CC = "a C compiler and its parts: needed to build (cgo), not to run"

LEFTOVER_RULES: tuple[Rule, ...] = (
    Rule("/root/.cache/go-build/**", "go build cache", _GO_CACHE),
    Rule("/home/*/.cache/go-build/**", "go build cache", _GO_CACHE),
    Rule("/tmp/go-build*/**", "go build cache", "`go build`'s work folder, left by a build cut short"),
    Rule("/go/pkg/mod/**", "go module cache", _GO_MOD),
    Rule("/root/go/pkg/mod/**", "go module cache", _GO_MOD),
    Rule("/home/*/go/pkg/mod/**", "go module cache", _GO_MOD),
    Rule("/var/lib/apt/lists/**", "apt lists", "package lists from `apt-get update`: stale at once "
         "(`rm -rf /var/lib/apt/lists/*` in the same RUN)", unless=r"^/var/lib/apt/lists/(lock|partial)$"),
    Rule("/var/cache/apt/archives/*.deb", "apt archives", "downloaded .deb files, kept after installing (`apt-get clean`)"),
    Rule("/var/cache/apt/*.bin", "apt cache", "apt's package caches, rebuilt by the next `apt-get update`"),
    Rule("/var/cache/apk/**", "apk cache", "apk's index and package cache (`apk add --no-cache`)"),
    Rule("/root/.cache/pip/**", "pip cache", _PIP),
    Rule("/home/*/.cache/pip/**", "pip cache", _PIP),
    Rule("/root/.npm/**", "npm cache", _NPM),
    Rule("/home/*/.npm/**", "npm cache", _NPM),
    Rule("/usr/local/share/.cache/yarn/**", "yarn cache", "yarn's cache (`yarn cache clean` in the same RUN)"),
    Rule("/usr/local/go/**", "go toolchain", _GO_TOOLCHAIN, "runtime image"),
    Rule("/usr/lib/go-*/**", "go toolchain", _GO_TOOLCHAIN, "runtime image"),
    Rule("/usr/share/go-*/**", "go toolchain", _GO_TOOLCHAIN + " (the standard library's sources)", "runtime image"),
    Rule("/usr/lib/gcc/**", "c compiler", _CC, "runtime image"),
    Rule("/usr/libexec/gcc/**", "c compiler", _CC, "runtime image"),
    Rule("/usr/bin/gcc*", "c compiler", _CC, "runtime image"),
    Rule("/usr/bin/*-gcc*", "c compiler", _CC, "runtime image"),
    Rule("/usr/bin/cc", "c compiler", _CC, "runtime image"),
    Rule("/usr/bin/g++*", "c compiler", _CC, "runtime image"),
)

LEFTOVER_COLUMNS = ["path", "size", "kind", "why", "scope", "layer", "created_by"]
RECLAIM_COLUMNS = ["path", "kind", "size", "layer", "created_by", "how", "by_layer", "by"]


def rule_table(rules: tuple[Rule, ...] = LEFTOVER_RULES) -> pd.DataFrame:
    """Return the leftover rules as a table: pattern, kind, why, scope."""
    return frame([(r.pattern, r.kind, r.why, r.scope) for r in rules], ["pattern", "kind", "why", "scope"])


def leftover_rows(image: ImageFiles, rules: tuple[Rule, ...] = LEFTOVER_RULES, runtime: bool = True) -> list[tuple]:
    """Return the final image's files (not folders) that a rule matches, the first matching rule each (LEFTOVER_COLUMNS).

    ``runtime=False`` (a builder image) leaves out the rules whose scope is "runtime image".
    """
    compiled = [(r, r.regex(), re.compile(r.unless) if r.unless else None)
                for r in rules if runtime or r.scope != "runtime image"]
    found = []
    for path, kind, size, *_, layer, created_by in image.tree_rows:
        if kind == "dir":
            continue
        for rule, rx, unless in compiled:
            if rx.match(path) and not (unless and unless.match(path)):
                found.append((path, size, rule.kind, rule.why, rule.scope, layer, created_by))
                break
    return found


def leftovers(image: ImageFiles, rules: tuple[Rule, ...] = LEFTOVER_RULES, runtime: bool = True) -> pd.DataFrame:
    """Return the final image's files (not folders) that a rule matches, the first matching rule each.

    ``runtime=False`` (a builder image) leaves out the rules whose scope is "runtime image".
    """
    return frame(leftover_rows(image, rules, runtime), LEFTOVER_COLUMNS)


def kinds_of(rows: list[tuple]) -> list[tuple[str, int, str, int, int, str]]:
    """Sum leftover rows per kind and layer: (kind, layer, created_by, files, bytes, why); largest first."""
    sums: dict[tuple[str, int, str, str], list[int]] = {}
    for _path, size, kind, why, _scope, layer, created_by in rows:
        s = sums.setdefault((kind, layer, created_by, why), [0, 0])
        s[0] += 1
        s[1] += size
    out = [(kind, layer, by, n, size, why) for (kind, layer, by, why), (n, size) in sums.items()]
    return sorted(out, key=lambda r: (-r[4], r[0], r[1]))


def leftovers_by_kind(found: pd.DataFrame) -> pd.DataFrame:
    """Sum leftovers per kind and layer: files, bytes, why, and the line that wrote them; largest first."""
    rows = kinds_of(list(found[LEFTOVER_COLUMNS].itertuples(index=False, name=None)))
    return frame(rows, ["kind", "layer", "created_by", "files", "bytes", "why"])


def reclaimable_rows(image: ImageFiles) -> list[tuple]:
    """Return every copy a later layer overwrote or deleted (bytes > 0), largest first (RECLAIM_COLUMNS)."""
    steps = [layer.created_by for layer in image.layers]
    rows = [(path, kind, size, layer, steps[layer], how, by, steps[by])
            for path, kind, size, layer, by, how in image.replaced_rows if size > 0]
    return sorted(rows, key=lambda r: (-r[2], r[0]))


def reclaimable(image: ImageFiles) -> pd.DataFrame:
    """Return every copy of a path that a later layer overwrote or deleted (bytes > 0), with who wrote and who hid it."""
    return frame(reclaimable_rows(image), RECLAIM_COLUMNS)


def reclaimable_bytes(image: ImageFiles) -> int:
    """Return the bytes of every copy a later layer overwrote or deleted."""
    return sum(r[2] for r in image.replaced_rows)
