"""ipywidgets over the kit's plain functions: a build progress bar, and lesson 05's base chooser.

Widgets never hide the real path: every button calls a function that a cell can also call
directly, so a headless run (nbval) executes the same code.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w
from IPython.display import display

from .errors import KitError


class BarProgress:
    """Show a build's steps as a progress bar with the current instruction under it."""

    def __init__(self, title: str) -> None:
        self.bar = w.IntProgress(value=0, min=0, max=1, description="", bar_style="info",
                                 layout=w.Layout(width="50%"))
        self.label = w.HTML(value=f"<b>{title}</b>: starting")
        self.title = title
        display(w.VBox([self.label, self.bar]))

    def step(self, n: int, total: int, instruction: str) -> None:
        """Move the bar to step ``n`` of ``total``."""
        self.bar.max = total
        self.bar.value = n
        self.label.value = f"<b>{self.title}</b>: step {n}/{total} <code>{_esc(instruction[:90])}</code>"

    def line(self, text: str) -> None:
        """Ignore build output lines (the bar shows steps only)."""
        pass

    def close(self, ok: bool, summary: str) -> None:
        """Fill the bar, green when the build worked, red when not."""
        self.bar.value = self.bar.max
        self.bar.bar_style = "success" if ok else "danger"
        self.label.value = f"<b>{self.title}</b>: {'done' if ok else 'failed'}, {_esc(summary)}"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chooser(
    builders: list[tuple[str, str]],
    runtimes: list[tuple[str, str]],
    on_build: Callable[[str, str], None],
    default: tuple[str, str],
) -> w.VBox:
    """Return two dropdowns (builder base, runtime base) and a button that calls ``on_build``.

    ``on_build(builder, runtime)`` runs inside the output area: a KitError it raises is shown
    there as the kit's one-line message, never as a traceback.
    """
    builder = w.Dropdown(options=builders, value=default[0], description="build on",
                         style={"description_width": "80px"}, layout=w.Layout(width="520px"))
    runtime = w.Dropdown(options=runtimes, value=default[1], description="run on",
                         style={"description_width": "80px"}, layout=w.Layout(width="520px"))
    button = w.Button(description="Build and run", button_style="primary", icon="play")
    out = w.Output()

    def clicked(_: w.Button) -> None:
        button.disabled = True
        try:
            with out:
                try:
                    on_build(builder.value, runtime.value)
                except KitError as exc:
                    print(f"error: {exc}")
        finally:
            button.disabled = False

    button.on_click(clicked)
    return w.VBox([builder, runtime, button, out])
