"""Checks: one type for every "is this right?" the kit answers (the set-up check, the exercises).

A ``Check`` says what was checked, whether it passed, what was found, and what to do if not. A
``Checklist`` prints as lines a learner reads top to bottom, and becomes a table in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Check:
    """One thing checked: what, whether it passed, what was found, and what to do if not."""

    what: str
    ok: bool
    found: str = ""
    hint: str = ""


@dataclass
class Checklist:
    """Several checks, and what to say when all pass or not."""

    checks: list[Check] = field(default_factory=list)
    all_pass: str = "All checks pass."
    not_yet: str = "Not there yet: do what the FAIL lines say, then check again."

    def add(self, what: str, ok: bool, found: str = "", hint: str = "") -> Check:
        """Add one check and return it."""
        c = Check(what, bool(ok), found, "" if ok else hint)
        self.checks.append(c)
        return c

    @property
    def passed(self) -> bool:
        """Say whether there is at least one check and every check passed."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def get(self, what: str) -> Check:
        """Return the check whose ``what`` starts with this text."""
        return next(c for c in self.checks if c.what.startswith(what))

    def __str__(self) -> str:
        width = max((len(c.what) for c in self.checks), default=0)
        lines = []
        for c in self.checks:
            lines.append(f"{'PASS' if c.ok else 'FAIL'}  {c.what:<{width}}  {c.found}".rstrip())
            if c.hint:
                lines.append(f"      what to do: {c.hint}")
        lines.append(self.all_pass if self.passed else self.not_yet)
        return "\n".join(lines)

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        """Show the checks as their lines when a notebook cell ends with them."""
        printer.text(str(self))  # type: ignore[attr-defined]

    def table(self) -> pd.DataFrame:
        """Return the checks as a table with readable column names."""
        return pd.DataFrame([{"check": c.what, "passed": c.ok, "found": c.found, "what to do": c.hint}
                             for c in self.checks])
