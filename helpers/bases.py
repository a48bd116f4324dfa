"""Base images: which image each Dockerfile ARG gets, and making every catalog base available.

Resolution order for every base a Dockerfile ARG names: the official image if this engine has it,
else the kit's local equivalent (``localhost/kit-local/...``) if made, else a clear BaseImageMissing. A build
records which one it got, so no base is ever swapped silently. Local equivalents are made by
``localbases.py``; bundles of bases for a workshop room by ``bundles.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from docker.errors import APIError

from . import engine, localbases
from .catalog import BASES
from .dockerfile import Dockerfile
from .errors import BaseImageMissing
from .progress import Say
from .results import BaseUsed
from .store import has_image, image_id


def arg_bases(path: Path) -> dict[str, str]:
    """Map each ``ARG NAME=<official image>`` of a Dockerfile to the catalog base it names."""
    by_official = {b.official: b.key for b in BASES.values()}
    return {arg: by_official[d] for arg, d in Dockerfile.read(path).args.items() if d in by_official}


def resolve(arg: str, ref: str) -> BaseUsed:
    """Return which image a Dockerfile ARG gets: official if present, else the local equivalent.

    ``ref`` is a catalog base key (``golang-alpine``) or any image reference (``alpine:3.20``).
    """
    b = BASES.get(ref)
    if b is None:
        if not ref.strip() or any(c.isspace() for c in ref):
            raise BaseImageMissing(
                f"{ref!r} is not an image name (for {arg}).",
                "name a catalog base (e.g. golang-alpine, distroless) or an image as `docker image ls` "
                "lists it, e.g. alpine:3.16.",
            )
        if image_id(ref) is None:
            pull(ref)  # raises BaseImageMissing with the registry's answer
        return BaseUsed(arg, ref, ref, False, image_id(ref) or "")
    found = image_id(b.official)
    if found is not None:
        return BaseUsed(arg, b.official, b.official, False, found)
    found = image_id(b.local) if b.local else None
    if found is not None:
        return BaseUsed(arg, b.official, b.local or "", True, found, b.differs)
    raise BaseImageMissing(
        f"The base image {b.official} ({b.role}) is not on this engine"
        + (f", and neither is its local equivalent {b.local}." if b.local else "."),
        "run `python -m helpers images` once: it pulls the official images, or makes local equivalents "
        "when no registry answers (or load an instructor's bundle: `python -m helpers bundle load FILE`).",
    )


def pull(ref: str, say: Say = print) -> None:
    """Pull an image from its registry, with progress; raise BaseImageMissing when that fails."""
    repo, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
    last = ""
    try:
        for chunk in engine.client().api.pull(repo, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                raise APIError(chunk["error"])
            status = chunk.get("status", "")
            if status and status != last and "Downloading" not in status and "Extracting" not in status:
                say(f"  {ref}: {status}")
                last = status
    except APIError as exc:
        reason = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:300]
        raise BaseImageMissing(
            f"The image {ref} is not on this engine, and pulling it failed.",
            "check the name for typos (`docker image ls` lists what is here); without internet use a "
            "catalog base or run `python -m helpers images`.",
            detail=f"the registry said: {reason}",
        ) from None


def registry_of(ref: str) -> str:
    """Return the registry an image reference pulls from (docker.io unless its first part is a host)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


class BaseState(Enum):
    """How a catalog base is available on this engine."""

    OFFICIAL = "official"
    LOCAL = "local"  # the local equivalent, made from the current recipe
    STALE = "stale"  # the local equivalent, made from an older recipe
    MISSING = "missing"
    BUILT_IN = "built-in"  # scratch: part of Docker

    @property
    def usable(self) -> bool:
        """Say whether a build can use the base in this state as it is."""
        return self not in (BaseState.MISSING, BaseState.STALE)


@dataclass
class BaseStatus:
    """Say how one catalog base is available: official, local equivalent, or not at all (and why)."""

    key: str
    official: str
    local: str | None
    state: BaseState
    note: str = ""

    @property
    def image(self) -> str | None:
        """Return the image this base resolves to now, if any."""
        return {BaseState.OFFICIAL: self.official, BaseState.LOCAL: self.local, BaseState.STALE: self.local,
                BaseState.BUILT_IN: self.official}.get(self.state)

    @property
    def found(self) -> str:
        """Say in words what is on the engine for this base."""
        return {
            BaseState.OFFICIAL: f"{self.official} (official)",
            BaseState.LOCAL: f"{self.local} (local equivalent of {self.official})",
            BaseState.STALE: f"{self.local}, made from an older recipe",
            BaseState.BUILT_IN: "built into the engine (Docker, Podman)",
            BaseState.MISSING: f"neither {self.official} nor {self.local}",
        }[self.state]


def status() -> list[BaseStatus]:
    """Return the state of every catalog base on this engine, without changing anything."""
    out = []
    for b in BASES.values():
        if b.official == "scratch":
            out.append(BaseStatus(b.key, b.official, None, BaseState.BUILT_IN, "the empty image, part of every engine"))
        elif has_image(b.official):
            out.append(BaseStatus(b.key, b.official, b.local, BaseState.OFFICIAL))
        elif b.local and has_image(b.local):
            if localbases.is_current(b.local):
                out.append(BaseStatus(b.key, b.official, b.local, BaseState.LOCAL, b.differs))
            else:
                out.append(BaseStatus(b.key, b.official, b.local, BaseState.STALE,
                                      "made from an older recipe: `python -m helpers images` makes it again"))
        else:
            out.append(BaseStatus(b.key, b.official, b.local, BaseState.MISSING, "run `python -m helpers images`"))
    return out


def ensure_all(say: Say = print, offline: bool | None = None, pull_present: bool = False) -> list[BaseStatus]:
    """Make every catalog base available: pull the official image, or make a local equivalent.

    A base that is here already, official or local equivalent (say, from an instructor's bundle), is
    used as it is: pulling it anyway is an explicit choice (``pull_present``, `images --pull`), as a
    room behind one address has 10 anonymous Docker Hub pulls an hour. For what is missing, the
    official image is pulled where a registry answers; a registry that fails once is not asked again
    in this run, and local equivalents are made instead. ``offline`` (default: the KIT_OFFLINE
    environment variable) never pulls.
    """
    if offline is None:
        offline = os.environ.get("KIT_OFFLINE", "") not in ("", "0")
    failed: set[str] = set()  # registries that did not answer
    for st in status():
        if st.state in (BaseState.OFFICIAL, BaseState.BUILT_IN) or (st.state is BaseState.LOCAL and not pull_present):
            continue
        host = registry_of(st.official)
        if not offline and host not in failed:
            try:
                say(f"Pulling {st.official} ...")
                pull(st.official, say)
                continue
            except BaseImageMissing as exc:
                fallback = "keeping" if st.state is BaseState.LOCAL else "making"
                say(f"  {host} did not give it ({exc.detail.removeprefix('the registry said: ')[:120]}); "
                    f"{fallback} the local equivalent")
                failed.add(host)
        if not st.state.usable:
            localbases.make_local(BASES[st.key], say)
    return status()
