"""The kit's helpers: build, run, measure and compare Docker images of the workshop's Go app.

Lessons import ``helpers`` and call only the names in ``__all__``: that is the lesson-facing API.
Each works live against a Docker engine, or from the recording where none answers (``source.py``).
Everything else in the package is internal, and may change with the kit.

A name is imported on first use (PEP 562's module ``__getattr__``), so the command line
(``python -m helpers inspect``) loads only what its command needs, not pandas, plotly and docker-py.
In an IPython kernel (a lesson) every name is imported at once, as before: the ``%%terminal`` magic
is registered and tables show every word.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

#: Where each lesson-facing name lives.
_WHERE = {
    "BASES": "catalog", "VARIANTS": "catalog", "variant": "catalog",
    "KitError": "errors",
    "EXERCISE_TARGET_MB": "exercise",
    **dict.fromkeys(["architecture", "banner", "base_chooser", "base_table", "build", "build_all", "build_custom",
                     "cache_builds", "cache_steps", "cache_table", "check_answer", "check_cache_exercise", "check_exercise", "image_list", "look_inside", "mode", "register_magics", "run",
                     "setup_check", "show_dockerfile", "sizes_on_engines"], "lessons"),
    **dict.fromkeys(["cache_chart", "files_treemap", "folder_diff_chart", "layers_chart", "size_chart", "surface_chart"], "plots"),
    "BuildResult": "results", "mb_text": "results",
    "room_view": "classroom",
    **dict.fromkeys(["bases_used", "layer_files", "layers_table", "leftovers_table", "reduction_table", "sizes_table",
                     "surface_table", "three_sizes", "waste_table"], "tables"),
}

__all__ = sorted(n for n in _WHERE if n != "register_magics")  # the magic registers itself


def __getattr__(name: str) -> Any:
    """Import a lesson-facing name from its module on first use."""
    if name not in _WHERE:
        raise AttributeError(f"module 'helpers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


def _in_ipython() -> bool:
    """Say whether an IPython shell (a notebook's kernel) runs this process."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


if _in_ipython():
    import pandas as pd

    from .lessons import register_magics

    for _name in _WHERE:
        __getattr__(_name)
    # The lessons' "now in the terminal" cells start with %%terminal (helpers/terminal.py).
    register_magics()
    # Tables explain things in words: show every word, wrapped, instead of cutting cells at 50 characters.
    pd.set_option("display.max_colwidth", None)
