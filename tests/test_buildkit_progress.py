"""BuildKit's progress, read: buildx's ``--progress=rawjson`` reads as its ``--progress=plain`` does.

Unit tests of internals, no engine: both files in tests/data are real output of the same failing build
(a syntax error added to main.go, the multistage Dockerfile), made one after the other with buildx 0.13.1
on Docker 26.1.5 (2026-11-30); the rawjson one without its transfer statuses, which the reader skips.
"""

from __future__ import annotations

import re
from pathlib import Path

from helpers.buildcache import steps_of
from helpers.buildkit import BuildKitBuilder, RawJson, is_step_header
from helpers.progress import QuietProgress

DATA = Path(__file__).parent / "data"


def _read(name: str, rawjson: bool) -> tuple[list[str], dict[str, str]]:
    """Feed a captured output to the builder's reader, line by line as it streams; return its log and state."""
    reader = RawJson() if rawjson else None
    steps: dict[str, str] = {}
    state = {"step": "before the first step", "error": "", "timed_out": ""}
    log: list[str] = []
    for raw in (DATA / name).read_text().splitlines(keepends=True):
        for line in reader.lines(raw) if reader else [raw]:
            BuildKitBuilder._take(line.rstrip("\n"), steps, state, log, QuietProgress())
    return log, state


def test_rawjson_reads_as_plain_does() -> None:
    raw_log, raw_state = _read("buildx-rawjson-compile-error.txt", rawjson=True)
    plain_log, plain_state = _read("buildx-plain-compile-error.txt", rawjson=False)
    # The same steps (cached ones start at once, in any order), the failing step, the compiler's own lines.
    def done(log: list[str]) -> list[tuple[str, int, str]]:
        return sorted((s.stage, s.index, s.instruction) for s in steps_of(log))

    assert len(done(raw_log)) == 5 and done(raw_log) == done(plain_log)
    assert raw_state["step"] == plain_state["step"] == "step [build 6/6] RUN CGO_ENABLED=0 go build -o /cms-daq-simple-app"
    assert raw_state["error"] == plain_state["error"]
    assert raw_state["error"].endswith("did not complete successfully: exit code: 2")
    for log in (raw_log, plain_log):
        assert "./main.go:93:14: syntax error: unexpected {, expecting )" in log


def test_rawjson_gives_each_step_its_header_when_it_starts_and_its_time_when_it_ends() -> None:
    log, _ = _read("buildx-rawjson-compile-error.txt", rawjson=True)
    headers = [x for x in log if x.startswith("[build ") and not re.search(r": (CACHED|DONE [\d.]+s|ERROR: .*)$", x)]
    assert headers[:5] == ["[build 1/6] FROM localhost/kit-local/golang:busybox@sha256:"
                           "5778a0d4e3987907db6564135b190a14529582fa8fa95f480f47048631261b2f",
                           "[build 2/6] WORKDIR /app", "[build 3/6] COPY go.mod go.sum* ./",
                           "[build 4/6] RUN go mod download", "[build 5/6] COPY *.go ./"]
    assert "[build 4/6] RUN go mod download: CACHED" in log
    assert "[build 5/6] COPY *.go ./: DONE 1.2s" in log  # completed minus started, as plain rounds it
    # The plain text after the objects (the Dockerfile around the failing step) is kept as it came.
    assert "  26 | >>> RUN CGO_ENABLED=0 go build -o /cms-daq-simple-app" in log


def test_an_object_cut_across_lines_waits_for_its_end() -> None:
    reader = RawJson()
    assert reader.lines("{\n") == [] and reader.lines('  "vertexes": [{"digest": "d1", "name": "[build 1/2] RUN x",\n') == []
    assert reader.lines('  "started": "2026-11-30T21:49:47.5Z", "completed": "2026-11-30T21:49:49.25Z"}]\n') == []
    assert reader.lines("}\n") == ["#1 [build 1/2] RUN x", "#1 DONE 1.8s"]
    assert reader.lines("ERROR: failed to solve\n") == ["ERROR: failed to solve\n"]


def test_the_recording_keeps_a_buildkit_logs_step_lines_alone() -> None:
    log, _ = _read("buildx-plain-compile-error.txt", rawjson=False)
    headers = [x for x in log if is_step_header(x)]
    assert headers and all(re.match(r"^\[(\w+ )?\d+/\d+\] [A-Z]+ ", x) for x in headers), headers
    assert not [x for x in headers if x.endswith(": CACHED") or " DONE " in x or "ERROR" in x], headers
    assert [x for x in log if x.endswith(": CACHED")] and not any(is_step_header(x) for x in log if ": CACHED" in x)
