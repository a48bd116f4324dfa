"""The catalog and the Dockerfiles agree, and the Dockerfiles keep the kit's rules (no engine needed).

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import re

import pytest

from helpers import catalog
from helpers.catalog import BASES, DOCKERFILES, VARIANTS
from helpers.errors import DockerfileMissing, UnknownVariant

ALL_DOCKERFILES = sorted(DOCKERFILES.glob("Dockerfile.*")) + sorted((DOCKERFILES / "bases").glob("Dockerfile.*"))


def arg_defaults(text: str) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))


@pytest.mark.parametrize("name", VARIANTS)
def test_dockerfile_defaults_are_the_workshop_pins(name: str) -> None:
    v = VARIANTS[name]
    defaults = arg_defaults(v.path.read_text())
    for arg, key in v.bases.items():
        assert defaults.get(arg) == BASES[key].official, f"{v.dockerfile}: ARG {arg} default"


def test_every_dockerfile_is_in_the_catalog() -> None:
    assert {p.name for p in DOCKERFILES.glob("Dockerfile.*")} == {v.dockerfile for v in VARIANTS.values()}


@pytest.mark.parametrize("path", ALL_DOCKERFILES, ids=lambda p: p.name)
def test_classic_builder_syntax_only(path) -> None:
    text = path.read_text()
    assert "--mount" not in text and "<<" not in text and "--link" not in text and "syntax=" not in text


@pytest.mark.parametrize("name", VARIANTS)
def test_exec_form_entrypoints(name: str) -> None:
    text = VARIANTS[name].path.read_text()
    for line in re.findall(r"^(?:CMD|ENTRYPOINT) (.*)$", text, re.M):
        assert line.startswith("["), f"{name}: shell form {line}"


@pytest.mark.parametrize("name", VARIANTS)
def test_stages_are_named_and_counted(name: str) -> None:
    v = VARIANTS[name]
    froms = re.findall(r"^FROM (\S+)(?: AS (\w+))?$", v.path.read_text(), re.M)
    assert len(froms) == v.stages
    for image, stage in froms[:-1]:
        assert stage, f"{name}: stage FROM {image} has no name"


@pytest.mark.parametrize("name", [n for n, v in VARIANTS.items() if v.nonroot])
def test_nonroot_variants_set_a_numeric_user(name: str) -> None:
    users = re.findall(r"^USER (\S+)$", VARIANTS[name].path.read_text(), re.M)
    assert users and users[-1].split(":")[0] not in ("0", "root")


def test_local_equivalents_live_in_the_kit_namespace() -> None:
    for b in BASES.values():
        if b.local:
            assert b.local.startswith(catalog.LOCAL_PREFIX + "/") and b.local != b.official
            assert b.differs, f"{b.key}: say what the local equivalent does differently"


def test_unknown_variant_suggests_the_closest_name() -> None:
    with pytest.raises(UnknownVariant, match="did you mean 'debian'"):
        catalog.variant("debain")


def test_missing_dockerfile_is_reported(monkeypatch, tmp_path) -> None:
    v = VARIANTS["debian"]
    monkeypatch.setitem(VARIANTS, "debian", catalog.Variant(**{**v.__dict__, "dockerfile": "Dockerfile.gone"}))
    with pytest.raises(DockerfileMissing, match="Dockerfile.gone"):
        catalog.variant("debian")


def test_build_context_ignores_everything_but_the_app() -> None:
    lines = (catalog.APP_DIR / ".dockerignore").read_text().splitlines()
    rules = [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    assert rules[0] == "*" and set(rules[1:]) <= {"!go.mod", "!go.sum", "!*.go"}


@pytest.mark.parametrize("name", VARIANTS)
def test_the_final_stage_carries_the_kits_labels(name: str) -> None:
    """A variant's labels are in its Dockerfile, so `docker build` of it makes the kit's very image."""
    from helpers.labels import kit_labels

    final_stage = re.split(r"^FROM ", VARIANTS[name].path.read_text(), flags=re.M)[-1]
    labels = dict(re.findall(r'([\w.-]+)="([^"]*)"', " ".join(re.findall(r"^LABEL (.*)$", final_stage, re.M))))
    assert labels == kit_labels("variant", variant=name)
