"""Learners sharing one engine (a JupyterHub classroom): each learner's names, label and clean-up.

Tests of internals: they call labels, builds.plan, the terminal's placeholders and cleanup's choice
of what to remove directly, with no engine (the learner comes from the environment, monkeypatched).
With no learner every name must stay the workshop's: the lessons, the recording and the other tests
rely on them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers import builds, cleanup, recording, terminal
from helpers.catalog import BASES, VARIANTS
from helpers.errors import InvalidName, KitError
from helpers.labels import (
    CONTAINER,
    LEARNER,
    LEARNER_VARIABLES,
    MANAGED,
    MAX_LEARNER,
    ROLE,
    check_tag,
    container_name,
    image_tag,
    is_kit_tag,
    is_stage_tag,
    kit_labels,
    learner,
    learner_labels,
    learner_option,
    learner_piece,
    repo_of,
    split_container,
    split_learner,
    stage_tag,
    variant_repo,
)
from helpers.results import BaseUsed
from helpers.terminal import Placeholders, commands, notebook_cells, recording_key

#: What Docker accepts as a container name.
CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


@pytest.fixture
def alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A learner alone: neither variable set."""
    for variable in LEARNER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def alice(alone: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """Learner alice, as the kit's own variable names her."""
    monkeypatch.setenv("KIT_LEARNER", "alice")
    return "alice"


# --- who the learner is ----------------------------------------------------------------------------

def test_the_learner_comes_from_kit_learner_then_jupyterhub(alone: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert learner() is None
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    assert learner() == "bob"
    monkeypatch.setenv("KIT_LEARNER", "alice")
    assert learner() == "alice"
    monkeypatch.setenv("KIT_LEARNER", "")  # set but empty: alone, even on a hub
    assert learner() is None


@pytest.mark.parametrize("name", ["alice", "Alice", "Alice.Smith@cern.ch", "a" * 80, "library", "localhost",
                                  "kit-local", "@@@", "bob_2", "x--y", "-lead", "élodie"])
def test_any_name_becomes_a_safe_short_piece(name: str) -> None:
    piece = learner_piece(name)
    assert piece is not None and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", piece), piece
    assert len(piece) <= MAX_LEARNER
    assert piece not in ("library", "localhost", "kit-local")  # Docker's un-namespaced name, a registry, the bases
    check_tag(f"{piece}/cms-daq-workshop-debian:stage-1")
    assert CONTAINER_NAME.match(f"cms-daq-simple-app-my-choice.{piece}")


def test_a_hub_name_keeps_its_readable_part_and_two_names_never_share_a_piece() -> None:
    assert learner_piece("alice") == "alice" and learner_piece("Alice") == "alice"  # JupyterHub lower-cases too
    odd = learner_piece("Alice.Smith@cern.ch")
    assert odd is not None and re.fullmatch(r"alice-smith-cern-ch-[0-9a-f]{6}", odd), odd
    assert learner_piece("a.b") != learner_piece("a-b") != learner_piece("a_b")
    assert learner_piece("x" * 40) != learner_piece("x" * 41)
    assert learner_piece("") is None and learner_piece("  ") is None


# --- names and labels ------------------------------------------------------------------------------

def test_with_no_learner_every_name_is_the_workshops(alone: None) -> None:
    assert image_tag("debian") == "cms-daq-workshop-debian:latest" == VARIANTS["debian"].tag
    assert image_tag("scratch-hardened", "test") == "cms-daq-workshop-scratch-hardened:test"
    assert stage_tag(variant_repo("multistage"), 1) == "cms-daq-workshop-multistage:stage-1"
    assert re.fullmatch(r"cms-daq-kit-[0-9a-f]{8}", container_name())
    assert kit_labels("variant", variant="debian") == {MANAGED: "true", ROLE: "variant",
                                                        "org.cms-daq-kit.variant": "debian"}
    assert kit_labels("container") == {MANAGED: "true", CONTAINER: "true"}
    assert learner_labels() == {} and learner_option("label") == "" and learner_option("filter") == ""


def test_a_learners_names_are_in_her_namespace(alice: str) -> None:
    assert image_tag("debian") == "alice/cms-daq-workshop-debian:latest" == VARIANTS["debian"].tag
    assert stage_tag(variant_repo("multistage"), 2) == "alice/cms-daq-workshop-multistage:stage-2"
    assert re.fullmatch(r"cms-daq-kit-[0-9a-f]{8}\.alice", container_name())
    assert CONTAINER_NAME.match(container_name())
    assert learner_option("label") == "--label org.cms-daq-kit.learner=alice"
    assert learner_option("filter") == "--filter label=org.cms-daq-kit.learner=alice"


def test_the_learner_label_is_on_variants_and_containers_never_on_bases(alice: str) -> None:
    assert kit_labels("variant", variant="debian")[LEARNER] == "alice"
    assert kit_labels("container")[LEARNER] == "alice"
    assert LEARNER not in kit_labels("base", recipe="abc")
    assert learner_labels() == {LEARNER: "alice"}


def test_an_odd_hub_name_makes_valid_names(alone: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "Alice.Smith@cern.ch")
    who = learner()
    assert who is not None and image_tag("debian") == check_tag(f"{who}/cms-daq-workshop-debian:latest")
    assert split_learner(image_tag("debian")) == (who, "cms-daq-workshop-debian:latest")
    assert CONTAINER_NAME.match(container_name()) and split_container(container_name())[0] == who


def test_the_tag_checks_read_the_namespaced_form() -> None:
    for tag in ["alice/cms-daq-workshop-debian:latest", "docker.io/alice/cms-daq-workshop-debian:latest",
                "localhost/alice/cms-daq-workshop-debian:latest"]:  # as Docker, Podman (built), Podman (loaded)
        assert is_kit_tag(tag) and split_learner(tag) == ("alice", "cms-daq-workshop-debian:latest")
        assert repo_of(tag) == "alice/cms-daq-workshop-debian"
        assert check_tag(split_learner(tag)[0] + "/" + split_learner(tag)[1]) and not is_stage_tag(tag)
    assert is_stage_tag("docker.io/alice/cms-daq-workshop-multistage:stage-1")
    assert repo_of("alice/cms-daq-workshop-debian") == "alice/cms-daq-workshop-debian"
    for other in ["alice/my-app:1", "a/b/cms-daq-workshop-x:1", "kit-local/cms-daq-workshop-x:1",
                  "library/cms-daq-workshop-x:1", "quay.io/cms-daq-workshop-x:1", "Alice/cms-daq-workshop-x:1"]:
        assert not is_kit_tag(other), other
        assert split_learner(other)[0] is None
    assert split_learner("cms-daq-workshop-debian:latest") == (None, "cms-daq-workshop-debian:latest")
    assert is_kit_tag("localhost/kit-local/busybox:latest", bases=True)


def test_the_container_form_is_read_back_without_ambiguity() -> None:
    assert split_container("cms-daq-simple-app-my-choice.alice") == ("alice", "cms-daq-simple-app-my-choice")
    assert split_container("/cms-daq-kit-1a2b3c4d.bob-alice") == ("bob-alice", "cms-daq-kit-1a2b3c4d")
    assert split_container("cms-daq-simple-app-my-choice") == (None, "cms-daq-simple-app-my-choice")


# --- builds ----------------------------------------------------------------------------------------

@pytest.fixture
def no_bases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plan without an engine: every base is taken as asked."""
    monkeypatch.setattr(builds, "resolve", lambda arg, ref: BaseUsed(arg, ref, ref, False))


def test_a_catalog_build_adds_only_the_learner_label(no_bases: None, alone: None,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    p = builds.plan("debian")
    assert (p.tag, p.labels) == ("cms-daq-workshop-debian:latest", {})  # as `docker build` of its Dockerfile
    monkeypatch.setenv("KIT_LEARNER", "alice")
    p = builds.plan("debian")
    assert (p.tag, p.labels) == ("alice/cms-daq-workshop-debian:latest", {LEARNER: "alice"})
    custom = builds.plan("debian", dockerfile=VARIANTS["alpine"].path)
    assert custom.tag == "alice/cms-daq-workshop-custom-debian:latest" and custom.labels[LEARNER] == "alice"


@pytest.mark.parametrize("tag", ["cms-daq-workshop-debian:latest", "alice/cms-daq-workshop-debian:latest",
                                 "bob/cms-daq-workshop-alpine:mine"])
def test_a_custom_build_takes_no_catalog_tag_in_any_namespace(no_bases: None, alice: str, tag: str) -> None:
    with pytest.raises(InvalidName, match="belongs to the catalog's variant"):
        builds.plan("mine", dockerfile=VARIANTS["debian"].path, tag=tag)


# --- the terminal cells ----------------------------------------------------------------------------

class ThisMachine(Placeholders):
    """The recording's machine, with no engine: port 8082 on localhost, the local equivalents of the bases."""

    def host(self) -> str:
        return "localhost"

    def port(self) -> int:
        return terminal.SEED_PORT

    def docker_build(self) -> str:
        """The `docker build` the recording's own build of debian stands for: its builder, on that machine."""
        return recording.load().results["debian"].command.split(" --tag ", 1)[0]


@pytest.fixture
def local_bases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the kit's local equivalents are here, as on the machine that made the recording."""
    from helpers import bases

    here = {"scratch": "", **{b.local: "sha256:0" for b in BASES.values() if b.local}}  # scratch is built in
    monkeypatch.setattr(bases, "image_id", here.get)


def lesson_commands() -> list[str]:
    return [c for cells in notebook_cells().values() for cell in cells for c in commands(cell)]


def test_alone_each_lesson_command_is_the_recorded_one(alone: None, local_bases: None) -> None:
    """With no learner, every filled command is byte for byte the one the recording ran."""
    recorded = recording.load().terminal
    ph = ThisMachine()
    assert {c: ph.fill(c) for c in lesson_commands()} == {c: recorded[recording_key(c)]["command"]
                                                           for c in lesson_commands()}


def test_a_learners_lesson_commands_use_her_names_only(alice: str, local_bases: None) -> None:
    ph = ThisMachine()
    filled = [ph.fill(c) for c in lesson_commands()]
    for command in filled:
        assert re.findall(r"\S*cms-daq-workshop-\S*", command) == re.findall(r"alice/cms-daq-workshop-\S*", command)
        assert all(n.endswith(".alice") for n in re.findall(r"cms-daq-simple-app-\S*", command)), command
    assert ("docker run -d --name cms-daq-simple-app-my-choice.alice -p 8082:8080 alice/cms-daq-workshop-my-choice"
            in filled)
    assert (f"{ph.docker_build()} --tag alice/cms-daq-workshop-debian --label org.cms-daq-kit.learner=alice"
            " -f ../dockerfiles/Dockerfile.debian --build-arg BUILDER_IMAGE=localhost/kit-local/golang:1.19-bookworm ../app"
            in filled)
    assert ("docker image ls --filter label=org.cms-daq-kit.role=variant --filter label=org.cms-daq-kit.learner=alice"
            in filled)
    assert "docker history alice/cms-daq-workshop-multistage" in filled
    assert "docker rm cms-daq-simple-app-exercise.alice" in filled


def test_the_recording_key_is_the_command_a_learner_alone_types() -> None:
    assert recording_key("docker build --tag {image:cms-daq-workshop-x} {learner-label} -f {build-args:debian} .") \
        == "docker build --tag cms-daq-workshop-x -f {build-args:debian} ."
    assert recording_key("docker image ls --filter label=a=b {learner-filter}") == "docker image ls --filter label=a=b"
    assert recording_key("docker stop {container:cms-daq-simple-app-x}") == "docker stop cms-daq-simple-app-x"


def test_a_learner_placeholder_outside_the_workshops_names_is_one_clear_error(alice: str) -> None:
    for typo in ["{image:nginx}", "{container:web}"]:
        with pytest.raises(KitError, match="names no") as err:
            Placeholders().fill(f"docker run {typo}")
        assert "clean finds those" in err.value.hint


def test_the_recording_is_made_by_a_learner_alone(alice: str, tmp_path: Path) -> None:
    with pytest.raises(KitError, match="learner alone"):
        recording.record(tmp_path / "recording.json")
    assert not (tmp_path / "recording.json").exists()


# --- what clean removes ----------------------------------------------------------------------------

BASE = {MANAGED: "true", ROLE: "base"}
IMAGES: list[tuple[list[str], dict[str, str] | None]] = [
    (["cms-daq-workshop-debian:latest"], {MANAGED: "true", ROLE: "variant"}),    # alone: the kit's build
    (["docker.io/library/cms-daq-workshop-debian:stage-1"], None),               # alone: a stage (no label), Podman
    (["cms-daq-workshop-exercise:latest"], None),                                # alone: a terminal cell's
    (["alice/cms-daq-workshop-debian:latest"], {MANAGED: "true", LEARNER: "alice"}),
    (["docker.io/alice/cms-daq-workshop-multistage:stage-1"], None),             # alice's stage, as Podman lists it
    (["cms-daq-workshop-mine:latest"], {MANAGED: "true", LEARNER: "alice"}),     # alice's build, a tag of her own
    (["bob/cms-daq-workshop-debian:latest", "bob/cms-daq-workshop-my-choice:latest"], {LEARNER: "bob"}),
    (["alice-smith/cms-daq-workshop-debian:latest"], {LEARNER: "alice-smith"}),  # a name that starts like hers
    (["localhost/kit-local/debian:bookworm"], BASE),
    (["localhost/kit-local/busybox:latest"], BASE),
    (["alice/my-app:1"], {MANAGED: "true", LEARNER: "alice"}),                   # alice's own image FROM one of hers
    (["debian:bullseye-slim"], None),
]


def test_clean_alone_removes_what_it_always_did_less_the_learners() -> None:
    alone = ["cms-daq-workshop-debian:latest", "cms-daq-workshop-debian:stage-1", "cms-daq-workshop-exercise:latest"]
    assert cleanup.tags_to_remove(IMAGES, None) == sorted(alone)
    assert cleanup.tags_to_remove(IMAGES, None, bases=True) == sorted(alone + ["localhost/kit-local/busybox:latest",
                                                                              "localhost/kit-local/debian:bookworm"])


def test_a_learners_clean_removes_hers_only_and_never_the_shared_bases() -> None:
    hers = ["alice/cms-daq-workshop-debian:latest", "alice/cms-daq-workshop-multistage:stage-1",
            "cms-daq-workshop-mine:latest"]
    assert cleanup.tags_to_remove(IMAGES, "alice") == hers
    assert cleanup.tags_to_remove(IMAGES, "alice", bases=True) == hers
    assert cleanup.tags_to_remove(IMAGES, "bob", bases=True) == ["bob/cms-daq-workshop-debian:latest",
                                                                 "bob/cms-daq-workshop-my-choice:latest"]


CONTAINERS: list[tuple[str, dict[str, str] | None, str | None]] = [  # name, labels, whose clean removes it
    ("cms-daq-kit-1a2b3c4d", {MANAGED: "true", CONTAINER: "true"}, None),
    ("cms-daq-simple-app-debian", {MANAGED: "true"}, None),                    # typed, from the kit's image
    ("cms-daq-simple-app-exercise", None, None),                               # typed, from an image with no label
    ("cms-daq-kit-5e6f7a8b.alice", {MANAGED: "true", CONTAINER: "true", LEARNER: "alice"}, "alice"),
    ("cms-daq-simple-app-my-choice.alice", {MANAGED: "true", LEARNER: "alice"}, "alice"),
    ("cms-daq-simple-app-exercise.alice", None, "alice"),                      # her name form, no label
    ("cms-daq-simple-app-debian-2", {LEARNER: "alice"}, "alice"),              # a workshop name, her image's label
    ("cms-daq-simple-app-my-choice.bob-alice", {LEARNER: "bob-alice"}, "bob-alice"),
    ("cms-daq-simple-app-debian.bob", None, "bob"),
    ("learner-own-container", {MANAGED: "true", LEARNER: "alice"}, "nobody"),  # her own name: never the kit's
    ("alice-web", {MANAGED: "true", CONTAINER: "false"}, "nobody"),
]


@pytest.mark.parametrize("who", [None, "alice", "bob", "bob-alice"])
def test_clean_removes_the_containers_of_its_learner_only(who: str | None) -> None:
    chosen = [name for name, labels, _ in CONTAINERS if cleanup.is_kit_container_of(name, labels, who)]
    assert chosen == [name for name, _, whose in CONTAINERS if whose == who]


def test_a_build_cut_short_is_cleaned_by_whom_it_can_be_told_to_be_of() -> None:
    """Step containers inherit the labels of the image the step stands on: the shared bases' (no learner)."""
    step = ["/bin/sh", "-c", "go build ./..."]
    assert cleanup.is_stale_step(BASE, False, step, None)
    assert not cleanup.is_stale_step(BASE, False, step, "alice")  # cannot be told to be hers: left alone
    assert cleanup.is_stale_step({**BASE, LEARNER: "alice"}, False, step, "alice")
    assert not cleanup.is_stale_step({**BASE, LEARNER: "alice"}, False, step, None)
    assert not cleanup.is_stale_step(BASE, True, step, None)  # running: a build still going
    assert not cleanup.is_stale_step({**BASE, CONTAINER: "true"}, False, step, None)  # one the kit started
    assert not cleanup.is_stale_step(BASE, False, ["/cms-daq-simple-app"], None)
    assert not cleanup.is_stale_step(None, False, step, None)


def test_a_learners_clean_says_it_kept_the_shared_bases(alice: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cleanup, "build_leftovers", lambda: ([], []))
    monkeypatch.setattr(cleanup, "kit_containers", lambda: [])
    monkeypatch.setattr(cleanup, "kit_image_tags", lambda bases=False: [])
    assert "kept the shared base images" in str(cleanup.clean(bases=True))
    assert cleanup.clean().notes == []


def test_two_learners_never_claim_the_same_terminal_port(tmp_path) -> None:
    """Two kernels may find 8082 free at the same moment; the claim (a file made with O_EXCL) picks one."""
    from helpers.terminal import claim_port

    assert claim_port(8082, "alice", tmp_path)
    assert not claim_port(8082, "bob", tmp_path)  # alice's: bob moves on
    assert claim_port(8083, "bob", tmp_path)
    assert claim_port(8082, "alice", tmp_path)  # her next kernel keeps it
    assert claim_port(8082, None, tmp_path)  # a learner alone claims nothing (the free-port check stands)
    assert (tmp_path / "8082").read_text() == "alice"
