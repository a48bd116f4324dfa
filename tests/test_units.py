"""Parsing and formatting, checked without an engine: build errors, progress lines, results, errors.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import bases, localbases
from helpers.builders import STEP, BuildRequest, build_error
from helpers.errors import BaseImageMissing, BuildFailed, KitError, ProvisionFailed
from helpers.progress import TextProgress
from helpers.results import BaseUsed, BuildResult, Layer
from helpers.tables import NONE, sizes_table

GO_LOG = [
    "Step 8/12 : RUN CGO_ENABLED=0 go build -o /cms-daq-simple-app",
    " ---> Running in 0123456789ab",
    "# cms-daq-simple-app",
    "./main.go:39:17: undefined: Greting",
]


def _request(tag: str = "t", dockerfile: str = "D") -> BuildRequest:
    return BuildRequest(Path(dockerfile), Path("."), tag)


def test_compile_error_keeps_the_compilers_lines() -> None:
    err = build_error(_request("t:latest", "Dockerfile.x"), "The command returned a non-zero code: 2", GO_LOG)
    assert isinstance(err, BuildFailed)
    assert "Go compiler" in err.what and "./main.go:39:17: undefined: Greting" in err.detail
    assert "Running in" not in err.detail


def test_go_test_failure_is_named_as_such() -> None:
    log = ["--- FAIL: TestRoutes (0.00s)", "    main_test.go:37: body = \"x\", want \"y\"", "FAIL"]
    err = build_error(_request(), "returned a non-zero code: 1", log)
    assert "Go tests failed" in err.what and "main_test.go:37" in err.detail


def test_missing_base_during_build_is_a_base_error() -> None:
    msg = 'pull access denied for nosuch/golang, repository does not exist or may require docker login'
    err = build_error(_request(), msg, [msg])
    assert isinstance(err, BaseImageMissing) and "python -m helpers images" in err.hint


def test_other_failures_show_the_logs_tail() -> None:
    log = [f"line {i}" for i in range(40)]
    err = build_error(_request(), "boom", log)
    assert "line 39" in err.detail and "line 10" not in err.detail and "boom" in err.detail


def test_kit_error_prints_as_one_short_message() -> None:
    text = str(KitError("What happened.", "what to do.", detail="engine said x"))
    assert text.splitlines() == ["What happened.", "  What to do: what to do.", "  | engine said x"]


def test_step_lines_parse() -> None:
    m = STEP.match("Step 3/10 : COPY go.mod go.sum* ./")
    assert m and (m[1], m[2], m[3]) == ("3", "10", "COPY go.mod go.sum* ./")
    assert STEP.match(" ---> Using cache") is None


def test_text_progress_prints_title_only_once_work_starts(capsys) -> None:
    p = TextProgress("Building x")
    assert capsys.readouterr().out == ""
    p.step(1, 2, "FROM scratch")
    p.close(True, "x in 1 s")
    assert capsys.readouterr().out.splitlines() == ["Building x", "  [1/2] FROM scratch", "  done: x in 1 s"]


def _result(name: str, size: int, user: str = "") -> BuildResult:
    return BuildResult(
        variant=name, tag=f"{name}:latest", image_id="sha256:x", size_bytes=size,
        layers=[Layer(size, "COPY x", False)], bases=[BaseUsed("B", "golang:1", "localhost/kit-local/golang:1", True)],
        seconds=1.0, architecture="amd64", user=user,
    )


def test_sizes_table_sorts_largest_first_and_keeps_workshop_figures() -> None:
    df = sizes_table([_result("multistage", 6_500_000), _result("debian", 744_000_000)])
    assert list(df["variant"]) == ["debian", "multistage"]
    assert list(df["workshop (MB)"]) == [865, 6.37]
    assert df.loc[1, "size (MB)"] == 6.5
    assert "local equivalent" in df.loc[0, "bases used"]
    assert list(sizes_table([_result("debian-slim", 1)])["workshop (MB)"]) == [NONE]  # no NaN


def test_build_result_survives_a_round_trip() -> None:
    r = _result("debian", 1, user="65532:65532")
    assert BuildResult.from_dict(r.to_dict()) == r and r.nonroot and not _result("x", 1, "root").nonroot


def test_debootstrap_needs_root_and_says_so(monkeypatch) -> None:
    monkeypatch.setattr(localbases.shutil, "which", lambda name: None)
    with pytest.raises(ProvisionFailed, match="debootstrap is not installed"):
        localbases.debootstrap_image("localhost/kit-local/debian:bookworm", say=lambda s: None)


def test_registry_of_a_reference() -> None:
    assert bases.registry_of("golang:1.19.3-bullseye") == "docker.io"
    assert bases.registry_of("library/alpine:3.16") == "docker.io"
    assert bases.registry_of("gcr.io/distroless/static-debian11:nonroot") == "gcr.io"
    assert bases.registry_of("127.0.0.1:5000/kit/busybox:1") == "127.0.0.1:5000"
    assert bases.registry_of("localhost/x") == "localhost"


def test_history_steps_read_as_dockerfile_lines_for_both_builders() -> None:
    from helpers.store import instruction_of

    assert instruction_of("/bin/sh -c #(nop)  ENV GOPATH=/go") == "ENV GOPATH=/go"
    assert instruction_of("/bin/sh -c go build -o /app") == "RUN go build -o /app"
    assert instruction_of("RUN /bin/sh -c go mod download # buildkit") == "RUN go mod download"
    assert instruction_of("COPY *.go ./ # buildkit") == "COPY *.go ./"


class _VanishingEngine:
    """An engine whose image list names an image that is gone when asked for by id, as on a shared engine
    where another learner's build removed one of its untagged step images just after the list."""

    class api:  # noqa: N801 - stands for docker-py's APIClient
        @staticmethod
        def images(name=None, filters=None):
            return [{"Id": "sha256:gone", "RepoTags": ["<none>:<none>"], "Labels": None},
                    {"Id": "sha256:mine", "RepoTags": ["my-own:1", "localhost/kit-local/busybox:latest"],
                     "Labels": {"a": "b"}}]

    class images:  # noqa: N801
        @staticmethod
        def get(image_id):
            from docker.errors import ImageNotFound
            raise ImageNotFound(f"No such image: {image_id}")

        @classmethod
        def list(cls, **kwargs):  # docker-py's: the list, then each image again by id
            return [cls.get(r["Id"]) for r in _VanishingEngine.api.images(**kwargs)]


def test_listing_the_engines_images_asks_nothing_more_of_each(monkeypatch) -> None:
    from helpers import engine, store
    from helpers.source import LiveSource

    monkeypatch.setattr(engine, "client", lambda: _VanishingEngine)
    assert [(i.id, i.tags, i.labels) for i in store.listed()] == [
        ("sha256:gone", [], {}), ("sha256:mine", ["my-own:1", "localhost/kit-local/busybox:latest"], {"a": "b"})]
    assert LiveSource().extra_images() == ["my-own:1"]  # a base is not an extra image
