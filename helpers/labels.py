"""Every name and label the kit puts on the engine: image tags, container names, labels.

One function makes every label (``kit_labels``) and one family of functions makes every tag, so
cleanup can find exactly what the kit made and nothing else. What counts as the kit's:
- images tagged ``cms-daq-workshop-*``, the workshop's names: the kit's builds (which carry the
  ``managed`` label) and the lessons' terminal cells' ``docker build --tag cms-daq-workshop-...``;
- local base images tagged ``kit-local/*`` (never an official name);
- containers that carry the ``container`` label (set only when the kit starts one), and containers
  named ``cms-daq-simple-app-*``, the workshop's names, which the terminal cells' ``docker run`` uses.
"""

from __future__ import annotations

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

#: Namespace of the local equivalents of official base images; never an official name.
LOCAL_NAMESPACE = "kit-local"
#: Tag prefix of the images the lessons build, as in the workshop (cms-daq-workshop-debian, ...).
TAG_PREFIX = "cms-daq-workshop-"
#: Prefix of the names of the containers the kit starts.
CONTAINER_PREFIX = "cms-daq-kit-"
#: Prefix of the workshop's container names (``docker run --name cms-daq-simple-app-debian``), as typed
#: in the lessons' terminal cells: the kit's clean removes them too.
SEED_CONTAINER_PREFIX = "cms-daq-simple-app-"


def kit_labels(kind: str, *, variant: str | None = None, recipe: str | None = None) -> dict[str, str]:
    """Return the labels for something the kit creates: ``kind`` is "variant", "base" or "container"."""
    if kind == "container":
        return {MANAGED: "true", CONTAINER: "true"}
    if kind not in ("variant", "base"):
        raise ValueError(f"unknown kind of kit object: {kind}")
    out = {MANAGED: "true", ROLE: kind}
    if variant is not None:
        out[VARIANT] = variant
    if recipe is not None:
        out[RECIPE] = recipe
    return out


def slug(text: str) -> str:
    """Turn any text into a piece of an image tag: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "custom"


#: What engines put in front of a name without a registry: Docker's full form, and Podman's name for
#: an image that came from no registry (loaded, imported). Podman lists the kit's builds as
#: ``docker.io/library/cms-daq-workshop-...`` and a loaded base as ``localhost/kit-local/...``.
_QUALIFIERS = ("docker.io/library/", "docker.io/", "localhost/")


def plain(tag: str) -> str:
    """Return a tag as Docker shows it: without the registry an engine put in front of a plain name."""
    for prefix in _QUALIFIERS:
        if tag.startswith(prefix):
            return tag.removeprefix(prefix)
    return tag


def repo_of(tag: str) -> str:
    """Return the repository part of a tag (``cms-daq-workshop-debian`` of ``...-debian:latest``)."""
    name, _, version = plain(tag).rpartition(":")
    return name if name and "/" not in version else plain(tag)


def variant_repo(name: str) -> str:
    """Return the repository a variant (or a custom build called ``name``) is tagged in."""
    return f"{TAG_PREFIX}{slug(name)}"


def image_tag(name: str, target: str | None = None) -> str:
    """Return the tag of a build: ``:latest``, or the stage's own tag when only ``target`` is built."""
    return f"{variant_repo(name)}:{slug(target) if target else 'latest'}"


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
    """Say whether a tag names one of the kit's earlier build stages."""
    return plain(tag).startswith(TAG_PREFIX) and ":stage-" in tag


def is_kit_tag(tag: str, bases: bool = False) -> bool:
    """Say whether a tag is in the kit's namespace (with ``bases``, the local bases' too)."""
    tag = plain(tag)
    return tag.startswith(TAG_PREFIX) or (bases and tag.startswith(LOCAL_NAMESPACE + "/"))


def container_name() -> str:
    """Return a new, unique name for a container the kit starts."""
    return f"{CONTAINER_PREFIX}{uuid.uuid4().hex[:8]}"
