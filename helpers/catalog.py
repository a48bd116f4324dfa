"""The catalog: every image variant the lessons build, and every base image they stand on.

A variant is a Dockerfile in ``dockerfiles/`` plus the base images its ``ARG``s name. The ARG
defaults are the workshop's official images; where those cannot be pulled, ``helpers.bases``
makes a local equivalent (tagged ``localhost/kit-local/...``) and a build records which one it used.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from .errors import DockerfileMissing, UnknownVariant
from .labels import LOCAL_PREFIX, image_tag

REPO = Path(__file__).resolve().parent.parent
APP_DIR = REPO / "app"
DOCKERFILES = REPO / "dockerfiles"


@dataclass(frozen=True)
class Base:
    """Describe one base image: the official one, and the local equivalent made when it cannot be pulled."""

    key: str
    official: str
    local: str | None
    role: str
    differs: str = ""  # what the local equivalent does differently, said to the learner


@dataclass(frozen=True)
class Variant:
    """Describe one image variant: its Dockerfile, the bases its ARGs name, and what to expect of it."""

    name: str
    dockerfile: str
    title: str
    description: str
    bases: dict[str, str]  # Dockerfile ARG -> Base.key
    workshop_mb: float | None = None
    nonroot: bool = False
    stages: int = 1

    @property
    def path(self) -> Path:
        """Return where the variant's Dockerfile is."""
        return DOCKERFILES / self.dockerfile

    @property
    def tag(self) -> str:
        """Return the tag the kit builds this variant under."""
        return image_tag(self.name)


BASES: dict[str, Base] = {
    b.key: b
    for b in [
        Base(
            "golang-debian",
            official="golang:1.19.3-bullseye",
            local=f"{LOCAL_PREFIX}/golang:1.19-bookworm",
            role="Go builder on Debian (the workshop's Debian image)",
            differs=(
                "Debian 12 with Debian's golang-go (Go 1.19.8) and no C compiler (cgo off), instead of "
                "Debian 11 with upstream Go 1.19.3 and gcc"
            ),
        ),
        Base(
            "golang-alpine",
            official="golang:1.19.3-alpine3.16",
            local=f"{LOCAL_PREFIX}/golang:busybox",
            role="Go builder on a small OS (the workshop's Alpine image)",
            differs=(
                "busybox (plus glibc for the go command) instead of Alpine, with Debian's Go 1.19.8 "
                "instead of upstream Go 1.19.3: the same Go as the Debian builder, on a tiny OS"
            ),
        ),
        Base(
            "debian-slim",
            official="debian:bullseye-slim",
            local=f"{LOCAL_PREFIX}/debian:bookworm",
            role="slim Debian runtime; the root of every local equivalent",
            differs="Debian 12 minbase from debootstrap instead of Docker Hub's Debian 11 slim",
        ),
        Base(
            "alpine",
            official="alpine:3.16",
            local=f"{LOCAL_PREFIX}/busybox:latest",
            role="small runtime with a shell",
            differs="busybox (static) instead of Alpine: a shell and core tools, but no apk package manager",
        ),
        Base(
            "distroless",
            official="gcr.io/distroless/static-debian11:nonroot",
            local=f"{LOCAL_PREFIX}/distroless-static:nonroot",
            role="runtime with CA certificates, tzdata and a nonroot user, no shell",
            differs="made from Debian 12 packages (ca-certificates, tzdata) instead of Google's Debian 11 build",
        ),
        Base("scratch", official="scratch", local=None, role="the empty image: built into Docker, never pulled"),
    ]
}

VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant(
            "debian",
            "Dockerfile.debian",
            "Debian single stage",
            "The workshop's first image: compiler, OS and app all in one Debian-based image.",
            {"BUILDER_IMAGE": "golang-debian"},
            workshop_mb=865,
        ),
        Variant(
            "alpine",
            "Dockerfile.alpine",
            "Alpine single stage",
            "The same single stage on a much smaller OS: the compiler still ships with the app.",
            {"BUILDER_IMAGE": "golang-alpine"},
            workshop_mb=370,
        ),
        Variant(
            "multistage",
            "Dockerfile.multistage",
            "Multi-stage into scratch",
            "The workshop's multi-stage build: compile in one stage, copy only the binary into scratch.",
            {"BUILDER_IMAGE": "golang-alpine", "RUNTIME_IMAGE": "scratch"},
            workshop_mb=6.37,
            stages=2,
        ),
        Variant(
            "debian-slim",
            "Dockerfile.debian-slim",
            "Multi-stage into Debian slim",
            "Build on Debian, run on a slim Debian: a shell and apt stay available for debugging.",
            {"BUILDER_IMAGE": "golang-debian", "RUNTIME_IMAGE": "debian-slim"},
            stages=2,
        ),
        Variant(
            "alpine-runtime",
            "Dockerfile.alpine-runtime",
            "Multi-stage into Alpine",
            "Build on the Alpine builder, run on a tiny OS with a shell: a few MB for a shell to debug with.",
            {"BUILDER_IMAGE": "golang-alpine", "RUNTIME_IMAGE": "alpine"},
            nonroot=True,
            stages=2,
        ),
        Variant(
            "distroless",
            "Dockerfile.distroless",
            "Multi-stage into distroless",
            "Run on distroless static: CA certificates, time zones and a nonroot user, but no shell.",
            {"BUILDER_IMAGE": "golang-debian", "RUNTIME_IMAGE": "distroless"},
            nonroot=True,
            stages=2,
        ),
        Variant(
            "scratch-hardened",
            "Dockerfile.scratch-hardened",
            "Hardened scratch",
            "Scratch again, with the Go tests run in the build, a stripped binary and a non-root user.",
            {"BUILDER_IMAGE": "golang-alpine", "RUNTIME_IMAGE": "scratch"},
            nonroot=True,
            stages=3,
        ),
    ]
}


def base_name(ref: str) -> str:
    """Return the official name of a catalog base key (``golang-alpine``), or ``ref`` itself."""
    return BASES[ref].official if ref in BASES else ref


def variant(name: str) -> Variant:
    """Return the catalog's variant of this name, or say which names exist."""
    try:
        v = VARIANTS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), VARIANTS, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise UnknownVariant(
            f"There is no image variant called '{name}'.",
            f"{hint}Pick one of: {', '.join(VARIANTS)}.",
        ) from None
    if not v.path.is_file():
        raise DockerfileMissing(
            f"The Dockerfile for '{name}' is missing: {v.path}",
            "restore it from git (git checkout -- dockerfiles/) or fix the catalog entry.",
        )
    return v

