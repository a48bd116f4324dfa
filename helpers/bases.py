"""Making base images available: the official ones when a registry answers, local equivalents when not.

Resolution order for every base a Dockerfile ARG names: the official image if this engine has it,
else the kit's local equivalent (``kit-local/...``) if made, else a clear BaseImageMissing. A build
records which one it got, so no base is ever swapped silently.

Local equivalents are made from Debian packages only: ``debootstrap`` gives a Debian root file
system (imported as ``kit-local/debian:bookworm``), and small Dockerfiles in ``dockerfiles/bases/``
build the rest on top of it. Both local Go builders carry Debian 12's ``golang-go`` (Go 1.19.8,
the workshop's Go minor version).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, ImageNotFound, NotFound

from . import engine
from .catalog import BASES, DOCKERFILES, LABEL, LOCAL_NAMESPACE, ROLE_LABEL, Base
from .errors import BaseImageMissing, ProvisionFailed
from .results import BaseUsed

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("KIT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BASE_LABELS = {LABEL: "true", ROLE_LABEL: "base"}
#: Label holding a digest of the recipe a local base was made from: a changed recipe remakes it.
RECIPE_LABEL = "org.cms-daq-kit.recipe"

Say = Callable[[str], None]


def has_image(ref: str) -> bool:
    """Say whether this engine holds an image under this reference."""
    return image_id(ref) is not None


def resolve(arg: str, ref: str) -> BaseUsed:
    """Return which image a Dockerfile ARG gets: official if present, else the local equivalent.

    ``ref`` is a catalog base key (``golang-alpine``) or any image reference (``alpine:3.20``).
    """
    b = BASES.get(ref)
    if b is None:
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


def image_id(ref: str) -> str | None:
    """Return the id of the image under this reference, or None if the engine has none."""
    if ref == "scratch":
        return ""
    try:
        return engine.client().images.get(ref).id
    except (ImageNotFound, NotFound):
        return None
    except APIError:  # e.g. an invalid reference: absent here; pulling it will say why
        return None


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


@dataclass
class BaseStatus:
    """Say how one catalog base is available: official, local equivalent, or not at all (and why)."""

    key: str
    official: str
    local: str | None
    state: str  # "official", "local", "stale" (local, older recipe), "missing", "built-in"
    note: str = ""

    @property
    def image(self) -> str | None:
        """Return the image this base resolves to now, if any."""
        return {"official": self.official, "local": self.local, "stale": self.local,
                "built-in": self.official}.get(self.state)


def status() -> list[BaseStatus]:
    """Return the state of every catalog base on this engine, without changing anything."""
    out = []
    for b in BASES.values():
        if b.official == "scratch":
            out.append(BaseStatus(b.key, b.official, None, "built-in", "the empty image, part of Docker"))
        elif has_image(b.official):
            out.append(BaseStatus(b.key, b.official, b.local, "official"))
        elif b.local and has_image(b.local):
            if _is_current(b.local):
                out.append(BaseStatus(b.key, b.official, b.local, "local", b.differs))
            else:
                out.append(BaseStatus(b.key, b.official, b.local, "stale",
                                      "made from an older recipe: `python -m helpers images` makes it again"))
        else:
            out.append(BaseStatus(b.key, b.official, b.local, "missing", "run `python -m helpers images`"))
    return out


def ensure_all(say: Say = print, offline: bool | None = None) -> list[BaseStatus]:
    """Make every catalog base available: pull official images, or make local equivalents.

    The official image is preferred: it is pulled whenever a registry answers, even where a local
    equivalent exists. A registry that fails once is not asked again in this run, and local
    equivalents are made for what is missing. What is already here is left alone, so a second run
    takes a second or two. ``offline`` (default: the KIT_OFFLINE environment variable) never pulls.
    """
    if offline is None:
        offline = os.environ.get("KIT_OFFLINE", "") not in ("", "0")
    failed: set[str] = set()  # registries that did not answer
    for st in status():
        if st.state in ("official", "built-in"):
            continue
        host = registry_of(st.official)
        if not offline and host not in failed:
            try:
                say(f"Pulling {st.official} ...")
                pull(st.official, say)
                continue
            except BaseImageMissing as exc:
                fallback = "keeping" if st.state == "local" else "making"
                say(f"  {host} did not give it ({exc.detail.removeprefix('the registry said: ')[:120]}); "
                    f"{fallback} the local equivalent")
                failed.add(host)
        if st.state in ("missing", "stale"):
            make_local(BASES[st.key], say)
    return status()


# --- local equivalents -------------------------------------------------------------------------

_DEBIAN = f"{LOCAL_NAMESPACE}/debian:{DEBIAN_SUITE}"
_MAKERS: dict[str, tuple[str, dict[str, str]]] = {
    # local tag -> (Dockerfile in dockerfiles/bases/, {ARG: the local image it stands on})
    f"{LOCAL_NAMESPACE}/golang:1.19-bookworm": ("Dockerfile.golang-debian", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_NAMESPACE}/busybox:latest": ("Dockerfile.busybox", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_NAMESPACE}/distroless-static:nonroot": ("Dockerfile.distroless-static", {"DEBIAN_IMAGE": _DEBIAN}),
    f"{LOCAL_NAMESPACE}/golang:busybox": (
        "Dockerfile.golang-busybox",
        {"GOLANG_IMAGE": f"{LOCAL_NAMESPACE}/golang:1.19-bookworm", "BUSYBOX_IMAGE": f"{LOCAL_NAMESPACE}/busybox:latest"},
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


def _is_current(tag: str) -> bool:
    try:
        return engine.client().images.get(tag).labels.get(RECIPE_LABEL) == recipe(tag)
    except (ImageNotFound, NotFound):
        return False


def _make(tag: str, say: Say) -> None:
    if _is_current(tag):
        return
    if has_image(tag):
        say(f"{tag} was made from an older recipe: making it again")
        engine.client().images.remove(tag)  # untags it; its layers go once nothing stands on them
    if tag == _DEBIAN:
        debootstrap_image(tag, say)
        return
    dockerfile, parents = _MAKERS[tag]
    for parent in parents.values():
        _make(parent, say)
    from .builder import remove_if_untagged, stream_build
    from .progress import TextProgress

    say(f"Making {tag} (local equivalent) from dockerfiles/bases/{dockerfile} ...")
    with tempfile.TemporaryDirectory(prefix="kit-ctx-") as ctx:  # these builds need no context
        raw = stream_build(
            DOCKERFILES / "bases" / dockerfile,
            Path(ctx),
            tag,
            buildargs=parents,
            labels={**BASE_LABELS, RECIPE_LABEL: recipe(tag)},
            progress=TextProgress(),
        )
    for stage in raw.stage_ids:  # the "fetch" stage: not needed once the base is made
        remove_if_untagged(stage)


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
        changes = [f'LABEL {k}="{v}"' for k, v in {**BASE_LABELS, RECIPE_LABEL: recipe(tag)}.items()]
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


# --- bundles: one archive of every base image, for a room behind one slow connection -----------

def bundle_save(path: str | Path, refs: list[str] | None = None, say: Say = print) -> list[str]:
    """Write every catalog base on this engine (or just ``refs``) into one archive, as `docker save` does."""
    refs = refs or sorted({s.image for s in status() if s.image and s.state in ("official", "local")})
    if not refs:
        raise BaseImageMissing("There are no base images on this engine to bundle.", "run `python -m helpers images` first.")
    api = engine.client().api
    say(f"Saving {len(refs)} images to {path}: {', '.join(refs)}")
    # docker-py's get_image() takes one name; the engine's /images/get takes many (as `docker save`).
    res = api._get(api._url("/images/get"), params={"names": refs}, stream=True)
    try:
        api._raise_for_status(res)
        with open(path, "wb") as f:
            for chunk in res.iter_content(chunk_size=1 << 20):
                f.write(chunk)
    except BaseException:
        Path(path).unlink(missing_ok=True)  # never leave half a bundle that looks whole
        raise
    finally:
        res.close()
    say(f"  wrote {Path(path).stat().st_size / 1e6:.0f}MB")
    return refs


def bundle_load(path: str | Path, say: Say = print) -> list[str]:
    """Load a bundle made by ``bundle_save`` (or by `docker save`) into this engine."""
    p = Path(path)
    if not p.is_file():
        raise BaseImageMissing(f"There is no bundle at {p}.", "check the path the instructor gave you.")
    if not tarfile.is_tarfile(p):
        raise BaseImageMissing(f"{p} is not an image archive.", "ask for the file made by `python -m helpers bundle save`.")
    say(f"Loading {p} ({p.stat().st_size / 1e6:.0f}MB) ...")
    loaded: list[str] = []
    with open(p, "rb") as f:
        for chunk in engine.client().api.load_image(f):
            if "error" in chunk:
                raise BaseImageMissing(f"Loading {p} failed.", "the file may be cut short: copy it again.", chunk["error"])
            if "stream" in chunk:
                line = chunk["stream"].strip()
                say(f"  {line}")
                if line.startswith("Loaded image: "):
                    loaded.append(line.removeprefix("Loaded image: "))
    return loaded
