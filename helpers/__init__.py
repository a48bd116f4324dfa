"""The kit's helpers: build, run, measure and compare Docker images of the workshop's Go app.

Lessons import ``helpers`` and call only the names in ``__all__``: that is the lesson-facing API.
Each works live against a Docker engine, or from the recording where none answers (``source.py``).
Everything else in the package is internal, and may change with the kit.
"""

from __future__ import annotations

import pandas as pd

from .catalog import BASES, VARIANTS, variant
from .errors import KitError
from .exercise import EXERCISE_TARGET_MB
from .lessons import (
    architecture,
    banner,
    base_chooser,
    base_table,
    build,
    build_all,
    build_custom,
    check_answer,
    check_exercise,
    image_list,
    mode,
    register_magics,
    run,
    setup_check,
    show_dockerfile,
)
from .plots import layers_chart, size_chart
from .results import BuildResult, mb_text
from .tables import bases_used, layers_table, reduction_table, sizes_table, three_sizes

__all__ = [
    "BASES", "EXERCISE_TARGET_MB", "VARIANTS", "BuildResult", "KitError", "architecture", "banner", "base_chooser",
    "base_table", "bases_used", "build", "build_all", "build_custom", "check_answer", "check_exercise", "image_list",
    "layers_chart", "layers_table", "mb_text", "mode", "reduction_table", "run", "setup_check", "show_dockerfile",
    "size_chart", "sizes_table", "three_sizes", "variant",
]

# The lessons' "now in the terminal" cells start with %%terminal (helpers/terminal.py).
register_magics()

# Tables explain things in words: show every word, wrapped, instead of cutting cells at 50 characters.
pd.set_option("display.max_colwidth", None)
