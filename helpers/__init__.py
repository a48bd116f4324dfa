"""The kit's helpers: build, run, measure and compare Docker images of the workshop's Go app.

Lessons import from here and nothing else of ours. The names below are the whole lesson-facing API.
"""

from __future__ import annotations

from .bases import ensure_all as make_bases_available
from .bases import status as base_status
from .build import build
from .catalog import BASES, VARIANTS, variant
from .errors import KitError
from .results import BuildResult, layers_table, sizes_table
from .run import run

__all__ = [
    "BASES",
    "VARIANTS",
    "BuildResult",
    "KitError",
    "base_status",
    "build",
    "layers_table",
    "make_bases_available",
    "run",
    "sizes_table",
    "variant",
]
