"""The kit's helpers: build, run, measure and compare Docker images of the workshop's Go app.

Lessons import ``helpers`` and nothing else of ours; the names below are the lesson-facing API.
Each works live against a Docker engine, or from the recording where none answers (see lessons.py).
"""

from __future__ import annotations

from .catalog import BASES, VARIANTS, variant
from .errors import KitError
from .lessons import (
    architecture,
    banner,
    base_chooser,
    base_table,
    bases_used,
    build,
    build_all,
    build_custom,
    check_exercise,
    image_list,
    mode,
    reduction_table,
    run,
    setup_check,
    show_dockerfile,
)
from .plots import layers_chart, size_chart
from .results import BuildResult, layers_table, sizes_table

__all__ = [
    "BASES", "VARIANTS", "BuildResult", "KitError", "architecture", "banner", "base_chooser", "base_table", "bases_used",
    "build", "build_all", "build_custom", "check_exercise", "image_list", "layers_chart", "layers_table",
    "mode", "reduction_table", "run", "setup_check", "show_dockerfile", "size_chart", "sizes_table", "variant",
]


def _show_kit_errors_plainly() -> None:
    """In a notebook, show the kit's errors as their one clear message, not as a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, value, tb, tb_offset=None):  # noqa: ANN001 - IPython's signature
        print(f"error: {value}")
        return None

    shell.set_custom_exc((KitError,), handler)


_show_kit_errors_plainly()
