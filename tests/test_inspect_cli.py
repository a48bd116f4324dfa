"""`python -m helpers inspect ARCHIVE`, run as a learner would, on archives made in the test: no engine.

Tests of internals: they build archives with test_inside's makers and import the kit's modules.
Every figure below is worked out by hand from the archive the test writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_bad_input import assert_one_clear_message, cli
from test_image import to_oci
from test_inside import DIVE, archive, layer

from helpers.catalog import REPO
from helpers.commands import inspect_command
from helpers.errors import KitError
from helpers.inspection import parse_fraction, parse_size

NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}  # nothing here may reach an engine


def inspect(*args: str) -> subprocess.CompletedProcess:
    return cli("inspect", *args, env=NO_ENGINE)


@pytest.fixture(scope="module")
def wasteful(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An image of three layers: 1000 B written twice, an apt list, a Go build cache, a shell and a user.

    Layer 0 (COPY . /): /big 1000 B, /bin/sh 100 B, /etc/passwd 30 B, /gone 40 B, /var/lib/apt/lists/x_Packages 300 B.
    Layer 1 (RUN make): /big again, 1000 B; /root/.cache/go-build/ab/c 500 B. Layer 2 (RUN rm): deletes /gone.
    """
    passwd = b"root:x:0:0:root:/root:/bin/sh\n"
    data = archive(layer(("big", "file", b"1" * 1000), ("bin/", "dir"), ("bin/sh", "file", b"\x7fELF" + b"s" * 96, 0o755),
                         ("etc/", "dir"), ("etc/passwd", "file", passwd), ("gone", "file", b"g" * 40),
                         ("var/lib/apt/lists/x_Packages", "file", b"p" * 300)),
                   layer(("big", "file", b"2" * 1000), ("root/.cache/go-build/ab/c", "file", b"c" * 500)),
                   layer((".wh.gone", "file")),
                   steps=["COPY . /", "RUN make", "RUN rm /gone"])
    path = tmp_path_factory.mktemp("inspect") / "wasteful.tar"
    path.write_bytes(data)
    (path.parent / "wasteful-oci.tar").write_bytes(to_oci(data))
    return path


def test_the_summary_says_every_figure(wasteful: Path) -> None:
    proc = inspect(str(wasteful))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"t:latest  ({wasteful}, docker layout)"
    # sizes in MB by the kit's rule (the exact bytes are in the JSON test); 7 paths (the tars name no other folder)
    assert "size         0.00 MB in 3 layers; the final files 0.00 MB (7 paths)" in proc.stdout, proc.stdout
    # dive: /big visited twice (1000 + 1000, smallest 1000), /gone twice (40, then its whiteout, 0)
    total = 2000 + 100 + 30 + 40 + 300 + 500
    smallest = 1000 + 100 + 30 + 0 + 300 + 500
    assert f"efficiency {100 * smallest / total:.2f} %, wasted 0.00 MB (" in proc.stdout
    assert "reclaimable  0.00 MB in 2 copies a later layer overwrote or deleted" in proc.stdout  # /big's 1000, /gone's 40
    assert "leftovers    0.00 MB: go build cache 0.00 MB (1 file), apt lists 0.00 MB (1 file)" in proc.stdout
    assert "surface      1 shell (/bin/sh); no package managers; no setuid/setgid files; no OS packages; 1 user; " \
           "runs as root; no exposed port; no Go binaries; no OS release file" in proc.stdout


def test_json_holds_the_exact_figures(wasteful: Path) -> None:
    proc = inspect(str(wasteful), "--json", "--files")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["image"]["size_bytes"] == 2000 + 100 + 30 + 40 + 300 + 500
    assert doc["image"]["final_bytes"] == 1000 + 100 + 30 + 300 + 500
    assert [x["created_by"] for x in doc["image"]["layers"]] == ["COPY . /", "RUN make", "RUN rm /gone"]
    assert doc["dive"]["wasted_bytes"] == 2040 and doc["dive"]["efficiency"] == pytest.approx(1930 / 2970)
    assert doc["dive"]["wasted_user_share"] == pytest.approx(2040 / 1500)  # layers 1 and 2: 1000 + 500 + 0
    assert doc["reclaimable"]["bytes"] == 1040
    assert [(c["path"], c["how"], c["created_by"], c["by"]) for c in doc["reclaimable"]["copies"]] == [
        ("/big", "overwritten", "COPY . /", "RUN make"), ("/gone", "deleted", "COPY . /", "RUN rm /gone")]
    assert doc["leftovers"]["by_kind"] == [{"kind": "go build cache", "files": 1, "bytes": 500},
                                           {"kind": "apt lists", "files": 1, "bytes": 300}]
    assert doc["surface"]["shells"] == [{"name": "sh", "path": "/bin/sh", "resolves_to": "/bin/sh"}]
    assert doc["surface"]["users"][0]["name"] == "root" and doc["surface"]["runs_as_root"]
    assert [t["path"] for t in doc["tree"]] == ["/big", "/bin", "/bin/sh", "/etc", "/etc/passwd",
                                               "/root/.cache/go-build/ab/c", "/var/lib/apt/lists/x_Packages"]
    assert "gate" not in doc


def test_the_oci_layout_says_the_same(wasteful: Path) -> None:
    classic, oci = (json.loads(inspect(str(p), "--json").stdout) for p in (wasteful, wasteful.parent / "wasteful-oci.tar"))
    assert classic["image"].pop("layout") == "docker" and oci["image"].pop("layout") == "oci"
    for doc in (classic, oci):
        doc["image"].pop("name"), doc["image"].pop("target")
    assert classic == oci


def test_the_gate_fails_naming_the_rule_and_its_files(wasteful: Path) -> None:
    proc = inspect(str(wasteful), "--min-efficiency", "0.9", "--max-wasted-share", "10%", "--max-leftovers", "600B")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert f"FAIL  efficiency: {100 * 1930 / 2970:.2f} % (limit >= 90.00 %)" in out
    assert "FAIL  wasted share: 136.00 % (limit <= 10.00 %)" in out
    assert "FAIL  leftovers: 0.00 MB (limit <= 0.00 MB)" in out
    leftovers = out[out.index("FAIL  leftovers"):]
    assert "500 B  /root/.cache/go-build/ab/c" in leftovers and "300 B  /var/lib/apt/lists/x_Packages" in leftovers
    assert "2.0 kB  /big" in out  # dive's inefficient file, both copies
    assert out.rstrip().endswith("gate: failed (efficiency, wasted share, leftovers)")


def test_the_gate_passes_within_its_limits(wasteful: Path) -> None:
    proc = inspect(str(wasteful), "--min-efficiency", "0.6", "--max-wasted-share", "1.5", "--max-leftovers", "800B")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS  ") == 3 and proc.stdout.rstrip().endswith("gate: passed")
    doc = json.loads(inspect(str(wasteful), "--json", "--max-leftovers", "0").stdout)
    assert doc["gate"]["passed"] is False and doc["gate"]["rules"][0]["top"][0] == {
        "path": "/root/.cache/go-build/ab/c", "bytes": 500}


def test_waste_files_and_surface_say_who_wrote_what(wasteful: Path) -> None:
    proc = inspect(str(wasteful), "--waste", "--surface", "--files", "--layers")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Layer 2: RUN rm /gone" in out and "deleted  /gone" in out
    reclaim = out[out.index("Reclaimable:"):out.index("Leftovers:")]
    assert "1.0 kB  overwritten  /big   layer 0: COPY . /  layer 1" in reclaim, reclaim
    assert "go build cache: 0.00 MB in 1 file  (a leftover in any image; written by layer 1: RUN make)" in out
    assert "why: Go's build cache (GOCACHE)" in out
    assert "sh    /bin/sh  /bin/sh" in out and "root  0    0    /root  /bin/sh" in out


@pytest.mark.parametrize("args, needle", [
    (["/nonexistent/image.tar"], "There is no file /nonexistent/image.tar"),
    (["{dir}"], "is a folder, not an image archive"),
    (["{junk}"], "could not be read as an image archive"),
    (["{archive}", "--max-leftovers", "1XB"], "'1XB' is not a size"),
    (["{archive}", "--max-leftovers=-5MB"], "'-5MB' is not a size"),
    (["{archive}", "--min-efficiency", "1.5"], "'1.5' is not an efficiency"),
    (["{archive}", "--max-wasted-share", "lots"], "'lots' is not a share of bytes"),
    (["{archive}", "--layers"], "--layers goes with --files"),
    (["mulitstage"], "No Docker engine answered"),  # a name, not a file: the engine is asked, and is not there
])
def test_bad_input_is_one_clear_message(args: list[str], needle: str, wasteful: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"no tar here " * 100)
    given = [a.format(dir=tmp_path, junk=junk, archive=wasteful) for a in args]
    proc = inspect(*given)
    assert_one_clear_message(proc, needle)
    assert proc.stdout == ""


def test_the_summary_path_loads_neither_pandas_nor_plotly_nor_docker(wasteful: Path) -> None:
    code = ("import sys\nfrom helpers.__main__ import main\nassert main(['inspect', sys.argv[1], '--max-leftovers', '1MB']) == 0\n"
            "print(sorted(m for m in ('pandas', 'plotly', 'docker', 'numpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(wasteful)], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **NO_ENGINE}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"


def test_sizes_and_shares_are_read_as_docker_writes_them() -> None:
    assert [parse_size(s) for s in ["0", "1MB", "500kB", "500KB", "1.5MB", "2MiB", "1GB", "100B", "1234", " 3 kB "]] == [
        0, 1_000_000, 500_000, 500_000, 1_500_000, 2 * 1024 * 1024, 10**9, 100, 1234, 3000]
    for bad in ["", "MB", "1XB", "-1", "1 M B", "1e3"]:
        with pytest.raises(KitError, match="is not a size"):
            parse_size(bad)
    assert parse_fraction("0.9", "an efficiency") == 0.9 and parse_fraction("90%", "an efficiency") == pytest.approx(0.9)
    assert parse_fraction("2.5", "a share", most=None) == 2.5
    for bad in ["1.1", "-0.1", "x", "nan"]:
        with pytest.raises(KitError, match="is not an efficiency"):
            parse_fraction(bad, "an efficiency")


def test_the_engine_path_says_the_docker_commands_it_stands_for() -> None:
    assert inspect_command("cms-daq-workshop-multistage:latest") == (
        "docker save -o image.tar cms-daq-workshop-multistage:latest && python -m helpers inspect image.tar")


@pytest.mark.skipif(not DIVE, reason="dive is not installed (pip install -r requirements-dev.txt)")
def test_the_inside_benchmark_prints_its_table(wasteful: Path) -> None:
    """Its numbers are reported, never asserted as goals: only that each row is there and measured."""
    proc = cli("benchmark", "--inside", str(wasteful), "--repeat", "1", env=NO_ENGINE)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("inside benchmark ") and "fastest of 1 runs each" in lines[0]
    assert lines[1].split() == ["what", "seconds", "peak", "RSS", "(MB)"]
    rows = {line.rsplit(None, 2)[0].strip(): line.rsplit(None, 2)[1:] for line in lines[2:]}
    assert list(rows) == ["kit: python -m helpers inspect (summary)", "kit: read + dive's figures (library)",
                          "dive 0.13.1 --json"]
    assert all(float(s) > 0 and float(mb) > 1 for s, mb in rows.values())
    assert_one_clear_message(cli("benchmark", "--inside", "/nonexistent.tar", env=NO_ENGINE), "There is no file")
