"""Showing a build's progress: the classic builder's ``Step N/M`` lines, as text or as a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Protocol, TextIO

#: Where a command tells the learner what it is doing, one line at a time (``print`` by default).
Say = Callable[[str], None]


class Progress(Protocol):
    """Receive a build's events as they stream from the engine."""

    def step(self, n: int, total: int, instruction: str) -> None:
        """Report that step ``n`` of ``total`` starts."""

    def line(self, text: str) -> None:
        """Report one line the build printed."""

    def close(self, ok: bool, summary: str) -> None:
        """Report the end of the build, and how it went."""


class QuietProgress:
    """Show nothing (tests, benchmarks)."""

    def step(self, n: int, total: int, instruction: str) -> None:
        """Ignore a step."""

    def line(self, text: str) -> None:
        """Ignore a line."""

    def close(self, ok: bool, summary: str) -> None:
        """Ignore the end."""


class TextProgress:
    """Print each step as one line; with ``verbose``, every line the build prints too."""

    def __init__(self, title: str = "", verbose: bool = False, stream: TextIO | None = None) -> None:
        self.title = title
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self._titled = False

    def _title(self) -> None:
        # Printed on the first event, so a build refused before it starts prints only its error.
        if self.title and not self._titled:
            print(self.title, file=self.stream, flush=True)
        self._titled = True

    def step(self, n: int, total: int, instruction: str) -> None:
        """Print the step and its instruction."""
        self._title()
        print(f"  [{n}/{total}] {instruction[:100]}", file=self.stream, flush=True)

    def line(self, text: str) -> None:
        """Print the line when verbose."""
        if self.verbose:
            self._title()
            print(f"      {text}", file=self.stream, flush=True)

    def close(self, ok: bool, summary: str) -> None:
        """Print how the build ended."""
        self._title()
        print(("  done: " if ok else "  failed: ") + summary, file=self.stream, flush=True)


def in_notebook() -> bool:
    """Say whether this code runs inside a Jupyter kernel (where widgets can show)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def default_progress(title: str) -> Progress:
    """Return a progress bar in a notebook, step lines in a terminal."""
    if in_notebook():
        from .widgets import BarProgress

        return BarProgress(title)
    return TextProgress(title)
