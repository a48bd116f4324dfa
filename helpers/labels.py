"""Every name and label the kit puts on the engine: image tags, container names, labels.

One function makes every label (``kit_labels``) and one family of functions makes every tag and
container name, so cleanup can find exactly what the kit made and nothing else. What counts as the kit's:
- images tagged ``cms-daq-workshop-*``, the workshop's names: the kit's builds (which carry the
  ``managed`` label) and the lessons' terminal cells' ``docker build --tag cms-daq-workshop-...``;
- local base images tagged ``localhost/kit-local/*`` (never an official name);
- containers that carry the ``container`` label (set only when the kit starts one), and containers
  named ``cms-daq-simple-app-*``, the workshop's names, which the terminal cells' ``docker run`` uses.

Learners on one engine. In a classroom (JupyterHub) many learners share one engine, and engine
names are engine-wide. ``learner()`` says who this learner is (``KIT_LEARNER``, else JupyterHub's
``JUPYTERHUB_USER``), made into a safe name piece (``learner_piece``: lower case, letters, digits and
dashes, at most 32 characters, 6 hex digits of a digest added when more than the case changed, so
``a.b`` and ``a-b`` stay two learners; never ``library``, which Docker reads as no namespace at all,
``localhost``, a registry, or ``kit-local``, the bases'); with no learner (alone on a laptop, or
``KIT_LEARNER=`` set empty) every name is exactly the workshop's. With a learner, say ``alice``:
- image tags go in a repository namespace of hers: ``alice/cms-daq-workshop-debian:latest`` (stages
  ``alice/cms-daq-workshop-debian:stage-1``). A repository path reads as "alice's images", keeps the
  workshop's name whole (``docker image ls alice/cms-daq-workshop-debian``) and cannot be confused
  with another learner's: a name piece has no ``/``, so the first path component is the learner.
  (A suffix such as ``cms-daq-workshop-debian-alice`` could: learner ``slim`` would own debian-slim.)
  Docker shows the name as given; Podman shows ``docker.io/alice/...`` or ``localhost/alice/...``,
  which ``plain`` strips. The kit never pulls such a name; but ``docker run`` of one that is not here
  would look for it on Docker Hub, under the account of that name.
- container names (engine-wide, no ``/`` allowed) get ``.<learner>`` at the end:
  ``cms-daq-kit-1a2b3c4d.alice``, ``cms-daq-simple-app-debian.alice``. A name piece has no ``.``, so
  the part after the last dot is the learner, and no learner's names end like another's (a dash
  would be ambiguous: ``...-my-choice`` would be learner ``choice``'s).
- the kit's images and containers carry ``org.cms-daq-kit.learner=alice`` (``kit_labels``); the
  terminal cells add it to their builds (``learner_option``), so the containers they run inherit it.
- base images (``localhost/kit-local/*``, official ones) stay shared: one copy per engine, no learner in their
  names or labels.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid

from .errors import InvalidName

#: Label on everything the kit creates. Cleanup removes only what carries it (and was made by the kit).
MANAGED = "org.cms-daq-kit.managed"
#: Label set only on containers the kit starts (images' labels are inherited by containers, this is not).
CONTAINER = "org.cms-daq-kit.container"
#: Label saying what an image is to the kit: "variant" or "base".
ROLE = "org.cms-daq-kit.role"
#: Label naming the variant (or custom build) an image was built as.
VARIANT = "org.cms-daq-kit.variant"
#: Label holding a digest of the recipe a local base was made from: a changed recipe remakes it.
RECIPE = "org.cms-daq-kit.recipe"
#: Label naming the learner an image or container is of (never on a base); absent with no learner.
LEARNER = "org.cms-daq-kit.learner"

#: Namespace of the local equivalents of official base images; never an official name.
LOCAL_NAMESPACE = "kit-local"
#: The local bases' names begin so: ``localhost/kit-local/golang:busybox``. ``localhost/`` names a registry
#: on this machine, where none answers: BuildKit on the containerd image store looks there for a base's
#: manifest, fails at once and uses the image it has, where for ``kit-local/...`` (``docker.io/kit-local/...``)
#: it asked Docker Hub and, offline, waited 20 s per build. Podman names a loaded image so too.
LOCAL_PREFIX = f"localhost/{LOCAL_NAMESPACE}"
#: Tag prefix of the images the lessons build, as in the workshop (cms-daq-workshop-debian, ...).
TAG_PREFIX = "cms-daq-workshop-"
#: Prefix of the names of the containers the kit starts.
CONTAINER_PREFIX = "cms-daq-kit-"
#: Prefix of the workshop's container names (``docker run --name cms-daq-simple-app-debian``), as typed
#: in the lessons' terminal cells: the kit's clean removes them too.
SEED_CONTAINER_PREFIX = "cms-daq-simple-app-"

#: Where the learner's name comes from, first found wins: the kit's own variable, then JupyterHub's.
LEARNER_VARIABLES = ("KIT_LEARNER", "JUPYTERHUB_USER")
#: The longest learner name piece: it goes into every tag and container name.
MAX_LEARNER = 32
#: Names a learner's namespace must not take: Docker reads ``library/x`` as ``x`` (the un-namespaced
#: name), ``localhost/x`` names a registry, ``kit-local`` is the shared bases'.
_RESERVED = frozenset({"library", "localhost", LOCAL_NAMESPACE})
#: A learner name piece: lower-case letters and digits, single dashes between them.
_PIECE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def learner_piece(name: str) -> str | None:
    """Return a learner's name as a piece of tags and container names (None for an empty name).

    Lower case, letters, digits and single dashes, at most ``MAX_LEARNER`` characters, never a reserved
    name. Lower-casing alone keeps the name (JupyterHub lower-cases user names itself); any other
    change (``Alice.Smith@cern.ch``, a cut, a reserved name) adds 6 hex digits of the name's digest, so
    two learners whose names differ only in what was dropped (``a.b`` and ``a-b``) still get two pieces.
    """
    text = name.strip()
    if not text:
        return None
    piece = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if piece == text.lower() and len(piece) <= MAX_LEARNER and piece not in _RESERVED:
        return piece
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{piece[:MAX_LEARNER - 7].strip('-') or 'learner'}-{digest}"


def learner() -> str | None:
    """Return this learner's name piece, or None for a learner alone (every name as in the workshop).

    ``KIT_LEARNER`` first (set but empty: alone, even on a JupyterHub), else ``JUPYTERHUB_USER``.
    """
    for variable in LEARNER_VARIABLES:
        if variable in os.environ:
            return learner_piece(os.environ[variable])
    return None


def kit_labels(kind: str, *, variant: str | None = None, recipe: str | None = None) -> dict[str, str]:
    """Return the labels for something the kit creates: ``kind`` is "variant", "base" or "container".

    Variants and containers carry the learner's label when there is a learner; bases never do.
    """
    if kind == "container":
        return {MANAGED: "true", CONTAINER: "true", **learner_labels()}
    if kind not in ("variant", "base"):
        raise ValueError(f"unknown kind of kit object: {kind}")
    out = {MANAGED: "true", ROLE: kind}
    if variant is not None:
        out[VARIANT] = variant
    if recipe is not None:
        out[RECIPE] = recipe
    return out if kind == "base" else {**out, **learner_labels()}


def learner_labels() -> dict[str, str]:
    """Return the learner's label alone (empty with no learner): what a catalog build adds to its Dockerfile's."""
    who = learner()
    return {LEARNER: who} if who else {}


def learner_option(kind: str) -> str:
    """Return the docker CLI option of the learner's label: ``kind`` "label" gives
    ``--label org.cms-daq-kit.learner=alice`` (for a build), "filter" ``--filter label=org.cms-daq-kit.learner=alice``
    (for a listing); empty with no learner."""
    if kind not in ("label", "filter"):
        raise ValueError(f"unknown kind of option: {kind}")
    who = learner()
    if not who:
        return ""
    return f"--label {LEARNER}={who}" if kind == "label" else f"--filter label={LEARNER}={who}"


def slug(text: str) -> str:
    """Turn any text into a piece of an image tag: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "custom"


#: What engines put in front of a name without a registry: Docker's full form, and Podman's name for
#: an image that came from no registry (loaded, imported). Podman lists the kit's builds as
#: ``docker.io/library/cms-daq-workshop-...``.
_QUALIFIERS = ("docker.io/library/", "docker.io/", "localhost/")


def plain(tag: str) -> str:
    """Return a tag as Docker shows it: without the registry an engine put in front of a plain name (a local
    base's ``localhost/`` is its own, and stays)."""
    if tag.startswith(LOCAL_PREFIX + "/"):
        return tag
    for prefix in _QUALIFIERS:
        if tag.startswith(prefix):
            return tag.removeprefix(prefix)
    return tag


def split_learner(tag: str) -> tuple[str | None, str]:
    """Return the learner whose namespace a kit tag is in (None: un-namespaced), and the tag without it.

    ``alice/cms-daq-workshop-debian:latest`` -> ("alice", "cms-daq-workshop-debian:latest"); any other
    tag -> (None, the tag as Docker shows it).
    """
    tag = plain(tag)
    first, slash, rest = tag.partition("/")
    if slash and _PIECE.match(first) and first not in _RESERVED and rest.startswith(TAG_PREFIX) and "/" not in rest:
        return first, rest
    return None, tag


def in_namespace(name: str, who: str | None = None) -> str:
    """Return an image name (``cms-daq-workshop-...``, with or without a tag) in the learner's namespace:
    ``alice/cms-daq-workshop-...``, or the name itself with no learner. ``who`` defaults to ``learner()``
    ("" for none)."""
    who = who if who is not None else learner()
    return f"{who}/{name}" if who else name


def repo_of(tag: str) -> str:
    """Return the repository part of a tag (``cms-daq-workshop-debian`` of ``...-debian:latest``)."""
    name, _, version = plain(tag).rpartition(":")
    return name if name and "/" not in version else plain(tag)


def variant_repo(name: str) -> str:
    """Return the repository a variant (or a custom build called ``name``) is tagged in, in the learner's namespace."""
    return in_namespace(f"{TAG_PREFIX}{slug(name)}")


def image_tag(name: str, target: str | None = None) -> str:
    """Return the tag of a build: ``:latest``, or the stage's own tag when only ``target`` is built."""
    return f"{variant_repo(name)}:{slug(target) if target else 'latest'}"


def catalog_variant_of(repo: str, names: list[str]) -> str | None:
    """Return which of these variants a repository is the tag of, in any learner's namespace (or None)."""
    bare = split_learner(repo)[1]
    return next((n for n in names if bare == f"{TAG_PREFIX}{slug(n)}"), None)


#: What Docker accepts as a tag: a lower-case repository path, optionally ``:`` and a tag of 1-128 characters.
_TAG = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
                  r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$")
MAX_REPO = 255  # Docker refuses a repository name longer than this


def check_tag(tag: str) -> str:
    """Return ``tag`` if Docker would accept it as a tag; else raise InvalidName saying why."""
    if len(repo_of(tag)) > MAX_REPO:
        raise InvalidName(f"The image name is {len(repo_of(tag))} characters long; Docker allows {MAX_REPO}.",
                          "choose a shorter name for your build.")
    if not _TAG.match(tag):
        raise InvalidName(f"{tag!r} is not a valid image tag.",
                          "use lower-case letters, digits, '.', '_' and '-' (no spaces or new lines), "
                          "optionally with ':' and a tag, e.g. cms-daq-workshop-mine:latest.")
    return tag


def stage_tag(repo: str, index: int) -> str:
    """Return the tag of the ``index``-th earlier build stage (1-based) of an image repository."""
    return f"{repo}:stage-{index}"


def is_stage_tag(tag: str) -> bool:
    """Say whether a tag names one of the kit's earlier build stages (in any learner's namespace)."""
    return split_learner(tag)[1].startswith(TAG_PREFIX) and ":stage-" in tag


def is_kit_tag(tag: str, bases: bool = False) -> bool:
    """Say whether a tag is in the kit's names, any learner's (with ``bases``, the local bases' too)."""
    return split_learner(tag)[1].startswith(TAG_PREFIX) or (bases and plain(tag).startswith(LOCAL_PREFIX + "/"))


def learner_container(name: str, who: str | None = None) -> str:
    """Return a container name in the learner's form: ``cms-daq-simple-app-debian.alice``, or the name
    itself with no learner. ``who`` defaults to ``learner()`` ("" for none)."""
    who = who if who is not None else learner()
    return f"{name}.{who}" if who else name


def split_container(name: str) -> tuple[str | None, str]:
    """Return the learner a container name is in the form of (None: none), and the name without it."""
    name = name.lstrip("/")  # the engine's own form of a name starts with /
    base, dot, who = name.rpartition(".")
    return (who, base) if dot and _PIECE.match(who) else (None, name)


def is_seed_container(name: str) -> bool:
    """Say whether a container has a workshop name (``cms-daq-simple-app-*``), in any learner's form."""
    return split_container(name)[1].startswith(SEED_CONTAINER_PREFIX)


def container_name() -> str:
    """Return a new, unique name for a container the kit starts (in the learner's form)."""
    return learner_container(f"{CONTAINER_PREFIX}{uuid.uuid4().hex[:8]}")
