"""The benchmark command produces its table (its numbers are reported, never asserted as goals).

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import benchmark
from helpers.buildcache import builders_here
from helpers.catalog import REPO

pytestmark = pytest.mark.docker


@pytest.mark.default_engine
def test_benchmark_table_for_one_variant_and_every_builder_here() -> None:
    df = benchmark.run(["multistage"], compare_cli=True)  # on Docker: BuildKit and classic; on Podman: classic
    assert df["builder"].tolist() == builders_here() and df["runs"].tolist() == [1] * len(df)
    assert list(df.columns) == ["variant", "builder", "runs", "cold_build_s", "rebuild_after_main_go_s", "rebuild_x_cold",
                                "image_mb", "layers", "plain_cli_cold_s", "kit_x_cli"]
    for _, row in df.iterrows():
        assert row["variant"] == "multistage" and row["layers"] >= 1 and 1 < row["image_mb"] < 10
        assert row["cold_build_s"] > 0 and row["rebuild_after_main_go_s"] > 0 and row["plain_cli_cold_s"] > 0
        # the ratio is of the unrounded seconds: within the rounding of the two shown
        assert abs(row["rebuild_x_cold"] - row["rebuild_after_main_go_s"] / row["cold_build_s"]) < 0.03, row


def test_repeated_runs_show_their_median_and_a_missing_cli_none() -> None:
    assert benchmark._median([5.2, 4.1, 9.9]) == 5.2 and benchmark._median([4.0, 5.0]) == 4.5
    assert benchmark._median([None, None]) is None


def test_a_tables_heading_says_when_its_measurement_began_and_ended() -> None:
    start = 1796225950.0  # 2026-12-02 15:39:10 UTC
    assert benchmark.span_utc(start, start + 16 * 60) == "2026-12-02 15:39-15:55 UTC"
    assert benchmark.span_utc(start + 8 * 3600 + 1200, start + 8 * 3600 + 2400) == "2026-12-02 23:59-2026-12-03 00:19 UTC"


def test_each_learner_of_the_room_benchmark_gets_a_copy_of_lessons_01_to_06(tmp_path) -> None:
    """Tests of internals (helpers/capacity.py): the lessons are copied, the kit's app and Dockerfiles are shared."""
    from helpers.capacity import learner_copy

    home, lessons = learner_copy(tmp_path, "room1")
    assert [Path(x).name[:2] for x in lessons] == ["01", "02", "03", "04", "05", "06"]
    assert all((home / x).is_file() and not (home / x).is_symlink() for x in lessons)
    assert (home / "app" / "main.go").is_file() and (home / "app").is_symlink()
    assert (home / "notebooks" / "exercise" / "Dockerfile").is_file()


def test_each_learner_of_the_room_benchmark_has_kernel_ports_of_their_own() -> None:
    """Tests of internals: eight learners' kernels listen on ports no other learner's kernel and no outgoing
    connection (the machine's ephemeral ports) can take, and jupyter_client does not replace them."""
    from helpers.capacity import kernel_config, kernel_ports

    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    taken: list[int] = []
    for k in range(8):
        settings = kernel_config(k).KernelManager
        assert settings.cache_ports is False
        ports = [settings[name] for name in kernel_ports(k)]
        assert len(ports) == 5 and all(1024 < p < low for p in ports), ports
        taken += ports
    assert len(set(taken)) == len(taken), taken


@pytest.mark.parametrize("room", ["two", "0,2", ""])
def test_the_room_benchmark_refuses_what_is_not_a_list_of_learners(room) -> None:
    done = subprocess.run([sys.executable, "-m", "helpers", "benchmark", "--room", room], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "--room" in done.stderr and "Traceback" not in done.stderr
