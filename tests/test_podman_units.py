"""What Podman's Docker-compatible API says differently, read without an engine.

The lines and answers below were captured from Debian 12's Podman 4.3.1 (`podman system service`); the
integration tests run the same code against the real Podman (scripts/test-podman.sh). Tests of internals.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from helpers.builders import ClassicBuilder, build_context
from helpers.catalog import APP_DIR, variant
from helpers.dockerfile import with_labels
from helpers.engine import product_of
from helpers.labels import is_kit_tag, is_stage_tag, plain, repo_of
from helpers.progress import QuietProgress
from test_units import _request

# `build scratch-hardened` on Podman, as its /build stream sends it (ids shortened by the engine itself).
BUILDAH_LOG = """[1/3] STEP 1/6: FROM localhost/kit-local/golang:busybox AS build
[1/3] STEP 2/6: WORKDIR /app
--> Using cache 64a799cae3dfe99d5b757b2890c3cebc3e68fd309e1df14ace7af9850196b419
--> 64a799cae3d
[1/3] STEP 6/6: RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /cms-daq-simple-app
--> 00cdec4860f
[2/3] STEP 1/2: FROM 00cdec4860f1363b3db808a2f7e61643b4d85ab3b08622fced2202aac7cac87c AS test
[2/3] STEP 2/2: RUN test -z "$(gofmt -l .)"  && CGO_ENABLED=0 go vet ./...  && CGO_ENABLED=0 go test -v ./...
--- PASS: TestRoutes (0.00s)
--> b437974ec3a
[3/3] STEP 1/9: FROM scratch AS final
[3/3] STEP 2/9: COPY --from=test /tests-passed /tests-passed
--> 021a68232d0
[3/3] STEP 9/9: LABEL "org.cms-daq-kit.variant"="scratch-hardened"
[3/3] COMMIT docker.io/library/cms-daq-workshop-scratch-hardened:latest
--> fc86872527f
Successfully tagged docker.io/library/cms-daq-workshop-scratch-hardened:latest
fc86872527fd9d85937a096d284e77649508f6a4adb745d6c7502cb003ea2f47
Successfully built fc86872527fd
Successfully tagged cms-daq-workshop-scratch-hardened:latest
"""


class _Steps(QuietProgress):
    def __init__(self) -> None:
        self.steps: list[tuple[int, int, str]] = []

    def step(self, n: int, total: int, instruction: str) -> None:
        self.steps.append((n, total, instruction))


def _take(lines: str) -> tuple[dict, list[str], _Steps]:
    state = {"image_id": "", "last_id": "", "step": "", "froms": 0, "stage": 0, "done": 0, "total": 0}
    stage_ids: list[str] = []
    progress = _Steps()
    for line in lines.splitlines(keepends=True):
        ClassicBuilder._take({"stream": line}, _request(), progress, [], state, stage_ids)
    return state, stage_ids, progress


def test_buildahs_stream_gives_the_stages_the_steps_and_the_image() -> None:
    state, stage_ids, progress = _take(BUILDAH_LOG)
    assert stage_ids == ["00cdec4860f", "b437974ec3a"]  # the last image of "build", then of "test"
    assert state["image_id"] == "fc86872527fd9d85937a096d284e77649508f6a4adb745d6c7502cb003ea2f47"
    # Buildah counts per stage; the kit counts on, so a progress bar never goes back.
    assert [(n, total) for n, total, _ in progress.steps] == [(1, 6), (2, 6), (6, 6), (7, 8), (8, 8), (9, 17),
                                                              (10, 17), (17, 17)]
    assert progress.steps[5][2] == "[stage 3/3] FROM scratch AS final"


def test_dockers_stream_still_gives_its_stages() -> None:
    state, stage_ids, progress = _take("Step 1/4 : FROM golang AS build\n ---> 1a2b3c4d5e6f\nStep 2/4 : RUN go build\n"
                                       " ---> 2b3c4d5e6f7a\nStep 3/4 : FROM scratch\n ---> \nStep 4/4 : COPY x y\n"
                                       " ---> 3c4d5e6f7a8b\n")
    assert stage_ids == ["2b3c4d5e6f7a"] and [s[:2] for s in progress.steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_the_dockerfile_goes_into_the_context_under_one_name(tmp_path: Path) -> None:
    """docker-py sent ?dockerfile=NAME&dockerfile=TEXT; Podman read the TEXT as a path ("file name too long")."""
    dockerfile = variant("multistage").path
    context, name = build_context(APP_DIR, dockerfile)
    try:
        with tarfile.open(fileobj=context) as tar:
            names = tar.getnames()
            inside = tar.extractfile(name)
            assert inside is not None and inside.read().decode() == dockerfile.read_text()
    finally:
        context.close()
    assert "\n" not in name and name.startswith(".dockerfile.") and "main.go" in names and "main_test.go" in names
    # A Dockerfile inside the context is named by its path there, as `docker build -f` does.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM scratch\n")
    context, name = build_context(tmp_path, tmp_path / "sub" / "Dockerfile")
    context.close()
    assert name == "sub/Dockerfile"


def test_podmans_names_read_as_dockers() -> None:
    assert plain("docker.io/library/cms-daq-workshop-multistage:stage-1") == "cms-daq-workshop-multistage:stage-1"
    assert plain("localhost/kit-local/golang:busybox") == "localhost/kit-local/golang:busybox"
    assert plain("quay.io/x/y:1") == "quay.io/x/y:1"
    assert repo_of("docker.io/library/cms-daq-workshop-debian:latest") == "cms-daq-workshop-debian"
    assert is_stage_tag("docker.io/library/cms-daq-workshop-multistage:stage-1")
    assert is_kit_tag("localhost/kit-local/busybox:latest", bases=True)
    assert not is_kit_tag("localhost/kit-local/busybox:latest")


def test_podman_is_told_from_docker_by_its_version() -> None:
    podman = {"Platform": {"Name": "linux/amd64/debian-12"}, "Version": "4.3.1", "ApiVersion": "1.41",
              "Components": [{"Name": "Podman Engine", "Version": "4.3.1"}, {"Name": "Conmon"}]}
    docker = {"Platform": {"Name": ""}, "Version": "20.10.24+dfsg1", "ApiVersion": "1.41",
              "Components": [{"Name": "Engine", "Version": "20.10.24+dfsg1"}, {"Name": "containerd"}]}
    assert product_of(podman) == "Podman" and product_of(docker) == "Docker" and product_of({}) == "Docker"


def test_labels_are_written_into_the_built_stage_in_one_sorted_line() -> None:
    """Podman 4.3 made one LABEL step per label sent, in a random order: a rebuild missed the cache."""
    text = "ARG B=x\nFROM ${B} AS build\nRUN make\nFROM build AS test\nRUN test\nFROM scratch\nCOPY --from=build /a /a\n"
    labels = {"org.kit.role": "variant", "org.kit.managed": "true"}
    final = with_labels(text, labels)
    assert final.splitlines()[-1] == 'LABEL org.kit.managed="true" org.kit.role="variant"'
    test = with_labels(text, labels, target="test").splitlines()
    assert test[test.index("RUN test") + 1].startswith("LABEL org.kit.managed=") and test[-1] == "COPY --from=build /a /a"
    assert with_labels(text, {}) == text


def test_a_rootless_network_failure_is_not_called_a_missing_program() -> None:
    """Rootless Podman's own words (4.3.1, seen here): each is the network's fault, not the image's."""
    from helpers.container import _start_hint

    for said in ['failed to mount runtime directory for rootless netns: no such file or directory',
                 '/usr/bin/slirp4netns failed: "open(\\"/dev/net/tun\\"): Permission denied\\nchild failed(1)\\n"']:
        hint = _start_hint(said)
        assert "network" in hint and "slirp4netns" in hint and "ENTRYPOINT" not in hint, said
    missing = 'exec: "/cms-daq-simple-app": stat /cms-daq-simple-app: no such file or directory: unknown'
    assert "ENTRYPOINT" in _start_hint(missing)
