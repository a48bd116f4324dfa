"""A copy of the app with an edit: what a developer's change looks like to the build cache.

The benchmark, the tests and the lessons all need "the app, with main.go changed": one function
makes it, so an edit is always made the same way.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from .catalog import APP_DIR


def edited_app(dest: str | Path, replace: tuple[str, str] | None = None, comment: bool = False) -> Path:
    """Copy app/ into ``dest``/app and edit its main.go; return the copy's folder.

    ``replace=(old, new)`` changes the code (the old text must be there); ``comment=True`` appends a
    comment line that differs on every call, the smallest edit that still invalidates the cache.
    """
    ctx = Path(dest) / "app"
    shutil.copytree(APP_DIR, ctx)
    main = ctx / "main.go"
    text = main.read_text()
    if replace is not None:
        old, new = replace
        if old not in text:
            raise ValueError(f"main.go has no {old!r} to replace")
        text = text.replace(old, new)
    if comment:
        text += f"\n// an edit made at {time.time_ns()}\n"
    main.write_text(text)
    return ctx
