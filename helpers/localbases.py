"""Local equivalents of the official base images, made from Debian packages when no registry answers.

``debootstrap`` gives a Debian root file system (imported as ``localhost/kit-local/debian:bookworm``), and
small Dockerfiles in ``dockerfiles/bases/`` build the rest on top of it. Both local Go builders
carry Debian 12's ``golang-go`` (Go 1.19.8, the workshop's Go minor version). Each local base carries
a digest of its recipe, so a changed recipe remakes it and a reworded comment does not.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from docker.errors import ImageNotFound, NotFound

from . import engine, store
from .builders import BuildRequest, ClassicBuilder
from .catalog import DOCKERFILES, Base
from .errors import ProvisionFailed
from .labels import LOCAL_PREFIX, RECIPE, kit_labels
from .progress import Say, TextProgress

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("KIT_DEBIAN_MIRROR", "http://deb.debian.org/debian")

_DEBIAN = f"{LOCAL_PREFIX}/debian:{DEBIAN_SUITE}"
_MAKERS: dict[str, tuple[str, dict[str, str]]] = {
    # local tag -> (Dockerfile in dockerfiles/bases/, {ARG: the local image it stands on})
    f"{LOCAL_PREFIX}/golang:1.19-bookworm": ("Dockerfile.golang-debian", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_PREFIX}/busybox:latest": ("Dockerfile.busybox", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_PREFIX}/distroless-static:nonroot": ("Dockerfile.distroless-static", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_PREFIX}/golang:busybox": (
        "Dockerfile.golang-busybox",
        {"GOLANG_IMAGE": f"{LOCAL_PREFIX}/golang:1.19-bookworm", "BUSYBOX_IMAGE": f"{LOCAL_PREFIX}/busybox:latest"},
    ),
}


def make_local(b: Base, say: Say = print) -> str:
    """Make the local equivalent of one catalog base (and what it stands on); return its tag."""
    if not b.local:
        raise ProvisionFailed(f"{b.official} has no local equivalent.", "pull it where a registry answers.")
    _make(b.local, say)
    return b.local


def recipe(tag: str) -> str:
    """Return a digest of how a local base is made (its Dockerfile and its parents' recipes)."""
    if tag == _DEBIAN:
        text = f"debootstrap --variant=minbase {DEBIAN_SUITE}; trim v1"
    else:
        dockerfile, parents = _MAKERS[tag]
        lines = (DOCKERFILES / "bases" / dockerfile).read_text().splitlines()
        steps = [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]  # comments don't count
        text = "\n".join(steps) + "".join(recipe(p) for p in parents.values())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def is_current(tag: str) -> bool:
    """Say whether the local base under ``tag`` exists and was made from the current recipe."""
    try:
        return engine.client().images.get(tag).labels.get(RECIPE) == recipe(tag)
    except (ImageNotFound, NotFound):
        return False


def _make(tag: str, say: Say) -> None:
    if is_current(tag):
        return
    if store.has_image(tag):
        say(f"{tag} was made from an older recipe: making it again")
        engine.client().images.remove(tag)  # untags it; its layers go once nothing stands on them
    if tag == _DEBIAN:
        debootstrap_image(tag, say)
        return
    dockerfile, parents = _MAKERS[tag]
    for parent in parents.values():
        _make(parent, say)
    say(f"Making {tag} (local equivalent) from dockerfiles/bases/{dockerfile} ...")
    with tempfile.TemporaryDirectory(prefix="kit-ctx-") as ctx:  # these builds need no context
        request = BuildRequest(DOCKERFILES / "bases" / dockerfile, Path(ctx), tag, buildargs=parents,
                               labels=kit_labels("base", recipe=recipe(tag)))
        raw = ClassicBuilder().build(request, TextProgress())  # the bases stay the same whatever builds the lessons
    for stage in raw.stage_ids:  # the "fetch" stage: not needed once the base is made
        store.remove_if_untagged(stage)


def debootstrap_image(tag: str, say: Say = print) -> None:
    """Make a minimal Debian image with debootstrap and import it under ``tag``."""
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        why = "debootstrap is not installed" if shutil.which("debootstrap") is None else "this is not root"
        raise ProvisionFailed(
            f"Cannot make the local Debian base {tag}: {why}.",
            "on Debian as root run `bash scripts/engine-up.sh` (it installs debootstrap); elsewhere pull the "
            "official images where a registry answers, or load an instructor's bundle "
            "(`python -m helpers bundle load FILE`).",
        )
    with tempfile.TemporaryDirectory(prefix="kit-debootstrap-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        say(f"Making {tag}: debootstrap --variant=minbase {DEBIAN_SUITE} (about 30 s) ...")
        started = time.monotonic()
        proc = subprocess.run(
            ["debootstrap", "--variant=minbase", DEBIAN_SUITE, str(root), DEBIAN_MIRROR],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise ProvisionFailed(
                f"debootstrap of Debian {DEBIAN_SUITE} failed (exit {proc.returncode}).",
                f"check that {DEBIAN_MIRROR} is reachable (or set KIT_DEBIAN_MIRROR), then run again.",
                detail="\n".join((proc.stdout + proc.stderr).splitlines()[-8:]),
            )
        _trim_rootfs(root)
        archive = Path(tmp) / "rootfs.tar"
        proc = subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(archive), "."],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ProvisionFailed(f"Packing the Debian root file system for {tag} failed.",
                                  "check the free disk space under /var/tmp, then run again.", detail=proc.stderr[-800:])
        repo, _, t = tag.rpartition(":")
        changes = [f'LABEL {k}="{v}"' for k, v in kit_labels("base", recipe=recipe(tag)).items()]
        changes += ['CMD ["bash"]', "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        engine.client().api.import_image_from_file(str(archive), repository=repo, tag=t, changes=changes)
        say(f"  imported {tag} in {time.monotonic() - started:.0f} s")


def _trim_rootfs(root: Path) -> None:
    """Drop what a container never needs: apt's caches and lists, docs, man pages, logs."""
    for pattern in ["var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "var/log/*.log"]:
        for p in root.glob(pattern):
            if p.is_file():
                p.unlink()
    for d in ["usr/share/doc", "usr/share/man", "usr/share/info"]:
        target = root / d
        if target.is_dir():
            shutil.rmtree(target)
            target.mkdir()
