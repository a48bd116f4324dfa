"""A gate on what is inside an image: pass or fail per rule, with the files that broke it (data for a CLI).

Three rules, each off when its limit is None:
- ``efficiency``: dive's efficiency score at least ``min_efficiency`` (dive's CI default: 0.9);
- ``wasted share``: dive's wasted bytes over the bytes of every layer but the first at most
  ``max_wasted_share`` (dive's CI rule highestUserWastedPercent, default 0.1);
- ``leftovers``: the bytes of leftover files (``waste.LEFTOVER_RULES``) at most ``max_leftover_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from .dive import dive_figures
from .inside import ImageFiles, frame
from .waste import LEFTOVER_COLUMNS, leftover_rows

if TYPE_CHECKING:
    import pandas as pd

DIVE_FILE_COLUMNS = ["path", "count", "bytes"]


@dataclass
class GateResult:
    """One rule's verdict: its limit, the image's value, and the files behind the value."""

    rule: str
    limit: float
    value: float
    passed: bool
    rows: list[tuple] = field(repr=False)  # what made the value: dive's inefficient files, or the leftover files
    columns: list[str] = field(repr=False)  # the rows' columns (DIVE_FILE_COLUMNS or waste.LEFTOVER_COLUMNS)

    @cached_property
    def files(self) -> pd.DataFrame:
        """Return the files behind the value as a table."""
        return frame(self.rows, self.columns)

    def culprits(self, n: int = 5) -> list[tuple[str, int]]:
        """Return the ``n`` largest files behind the value: (path, bytes)."""
        size = self.columns.index("bytes" if "bytes" in self.columns else "size")
        return sorted(((r[0], r[size]) for r in self.rows), key=lambda x: (-x[1], x[0]))[:n]


def gate(image: ImageFiles, min_efficiency: float | None = 0.9, max_wasted_share: float | None = 0.1,
         max_leftover_bytes: int | None = 0, runtime: bool = True) -> list[GateResult]:
    """Check an image against the limits given; ``runtime=False`` for a builder image (compilers allowed)."""
    results = []
    if min_efficiency is not None or max_wasted_share is not None:
        dive = dive_figures(image)
        if min_efficiency is not None:
            results.append(GateResult("efficiency", min_efficiency, dive.efficiency,
                                      dive.efficiency >= min_efficiency, dive.inefficient, DIVE_FILE_COLUMNS))
        if max_wasted_share is not None:
            share = dive.wasted_user_share if dive.wasted_bytes else 0.0
            results.append(GateResult("wasted share", max_wasted_share, share, share <= max_wasted_share,
                                      dive.inefficient, DIVE_FILE_COLUMNS))
    if max_leftover_bytes is not None:
        found = leftover_rows(image, runtime=runtime)
        total = sum(r[1] for r in found)
        results.append(GateResult("leftovers", max_leftover_bytes, total, total <= max_leftover_bytes, found,
                                  LEFTOVER_COLUMNS))
    return results


def gate_table(results: list[GateResult]) -> pd.DataFrame:
    """Return the verdicts as a table: rule, limit, value, passed, files (how many files are behind it)."""
    return frame([(r.rule, r.limit, r.value, r.passed, len(r.rows)) for r in results],
                 ["rule", "limit", "value", "passed", "files"])
