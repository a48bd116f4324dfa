"""The benchmark command produces its table (its numbers are reported, never asserted as goals).

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import pytest

from helpers import benchmark

pytestmark = pytest.mark.docker


def test_benchmark_table_for_one_variant() -> None:
    df = benchmark.run(["multistage"], compare_cli=True)
    assert list(df.columns) == ["variant", "cold_build_s", "rebuild_after_main_go_s", "image_mb", "layers",
                                "docker_cli_cold_s"]
    row = df.iloc[0]
    assert row["variant"] == "multistage" and row["layers"] >= 1 and 1 < row["image_mb"] < 10
    assert row["cold_build_s"] > 0 and row["rebuild_after_main_go_s"] > 0 and row["docker_cli_cold_s"] > 0
