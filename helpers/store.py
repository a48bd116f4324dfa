"""The engine's image store, as the kit uses it: look images up, list a repository, remove leftovers.

Every module that needs to know "is this image here?" or "remove what nothing names any more" asks
here, so bases, builders and cleanup share one rule for what may be removed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from docker.errors import APIError, ImageNotFound, NotFound

from . import engine
from .dockerfile import instruction_of
from .labels import plain, repo_of
from .results import Layer


def image_id(ref: str) -> str | None:
    """Return the id of the image under this reference ("" for scratch), or None if there is none."""
    if ref == "scratch":
        return ""
    try:
        return engine.client().images.get(ref).id
    except (ImageNotFound, NotFound):
        return None
    except APIError:  # e.g. an invalid reference: absent here; pulling it will say why
        return None


def has_image(ref: str) -> bool:
    """Say whether this engine holds an image under this reference."""
    return image_id(ref) is not None


@dataclass(frozen=True)
class Listed:
    """One image as the engine's image list gives it: id, tags (no ``<none>:<none>``) and labels."""

    id: str
    tags: list[str]
    labels: dict[str, str]


def listed(name: str | None = None, filters: dict[str, Any] | None = None) -> list[Listed]:
    """List the engine's images (``docker image ls``), asking nothing more of each one.

    Not docker-py's ``images.list()``: it asks the engine for each listed image again, by id, and on a
    shared engine an image another build removes in between ends the whole list in ImageNotFound
    (measured: one of four learners in a room, whose lesson 05 listed the engine's images just as
    another learner's build removed one of its untagged step images).
    """
    rows = engine.client().api.images(name=name, filters=filters)
    return [Listed(r["Id"], [t for t in r.get("RepoTags") or [] if t != "<none>:<none>"], r.get("Labels") or {})
            for r in rows]


def repo_tags(repo: str) -> dict[str, str]:
    """Return every tag of one image repository on this engine, with the image id it names."""
    out = {}
    for image in listed(name=repo):
        for tag in image.tags:
            if repo_of(tag) == repo:
                out[plain(tag)] = image.id  # as Docker names it: Podman lists docker.io/library/...
    return out


def _has_children(image_id: str) -> bool:
    """Say whether another image stands on this one (the containerd image store lets rmi remove it anyway)."""
    bare = _bare(image_id)  # Podman lists a parent's id without the "sha256:" its own ids carry
    return any(_bare(i.get("ParentId") or "") == bare for i in engine.client().api.images(all=True))


def _bare(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


def parent_of(image_id: str) -> str:
    """Return the image a classic build's image stands on: "" for none, or when it is not here."""
    try:
        return engine.client().images.get(image_id).attrs.get("Parent") or ""
    except (ImageNotFound, NotFound):
        return ""


def remove_if_untagged(image_id: str | None, parent: str = "") -> bool:
    """Remove an image no tag names any more, with the untagged images under it that nothing else uses.

    For what a failed build left, an image a rebuild moved its tag away from, a base's helper stage.
    An image that still has a tag (a base, a stage another variant tagged) is kept: removing it by id
    would silently take that tag away. So is one that a container or another image stands on.
    ``parent``: the image it stood on, read before it could go. On Docker 26's containerd image store a
    BuildKit build that takes the last tag of a classic build's image deletes that image itself, and its
    untagged parents were left behind (make test, 2026-12-02); given its parent, they go too.
    Returns whether the image is gone (or was never there).
    """
    if not image_id:
        return True
    try:
        image = engine.client().images.get(image_id)
        if image.tags or _has_children(image.id):
            return False
        parent = image.attrs.get("Parent") or parent
        # noprune: the parents are weighed here one by one. Docker 26's containerd image store, asked to prune,
        # removes the untagged parents even where another image stands on them: the shared steps every later
        # build would have found cached (a failed build of an edited main.go cost the next build of every
        # variant its cache: 115 s against 8 s, measured 2026-12-01).
        engine.client().images.remove(image.id, force=False, noprune=True)
    except (ImageNotFound, NotFound):
        pass  # gone already: its parents may still be left
    except APIError:
        return False  # in use, or someone's cache: not a leftover
    if parent:
        remove_if_untagged(parent)
    return True


def remove_when_released(image_id: str | None, seconds: float = 15.0) -> bool:
    """Remove an untagged image as soon as the engine lets go of it (a cancelled build's step image).

    A build the engine is cancelling still has a container on its last image for a moment; this
    tries again until ``seconds`` have passed. Returns whether the image is gone.
    """
    deadline = time.monotonic() + seconds
    while not remove_if_untagged(image_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def remove_tag(tag: str) -> bool | None:
    """Untag one tag (the image goes once nothing else names it, with its untagged parents).

    Returns True when the tag is gone, False when the engine kept it (a container uses the image),
    None when there was no such tag.
    """
    try:
        parent = engine.client().images.get(tag).attrs.get("Parent") or ""
        engine.client().images.remove(tag, noprune=True)  # the parents are weighed below (remove_if_untagged)
    except (ImageNotFound, NotFound):
        return None
    except APIError:
        return False
    remove_if_untagged(parent)
    return True


def remove_tags(tags: list[str]) -> list[str]:
    """Untag each of these tags (see ``remove_tag``); return those removed."""
    return [tag for tag in tags if remove_tag(tag)]


def layers_of(image_ref: str, base_ref: str | None) -> list[Layer]:
    """Return an image's history steps, oldest first: size, instruction, from the base or not, and
    whether the step made a filesystem layer (metadata steps such as ENV or LABEL make none)."""
    client = engine.client()
    image = client.images.get(image_ref)
    history = list(reversed(image.history()))
    n_base = len(client.images.get(base_ref).history()) if base_ref and base_ref != "scratch" else 0
    layers = []
    for i, h in enumerate(history):
        layers.append(Layer(int(h.get("Size", 0)), instruction_of(h.get("CreatedBy") or ""), i < n_base))
    counts = [_rootfs_count(h.get("Id", "")) for h in history]
    counts[-1] = len((image.attrs.get("RootFS") or {}).get("Layers") or [])
    return _mark_filesystem(layers, counts)


def _rootfs_count(image_id: str) -> int | None:
    """Return how many filesystem layers the image of one history step has (None if not on the engine)."""
    if not image_id.startswith("sha256:"):
        return None  # "<missing>": a step of a pulled, loaded or imported image
    try:
        return len((engine.client().images.get(image_id).attrs.get("RootFS") or {}).get("Layers") or [])
    except (APIError, ImageNotFound, NotFound):
        return None


_MAY_BE_EMPTY = ("RUN ", "COPY ", "ADD ")


def _mark_filesystem(layers: list[Layer], counts: list[int | None]) -> list[Layer]:
    """Mark which steps made a filesystem layer, from the layer counts known at some steps.

    Between two steps whose images the engine holds (the ones this engine built), the counts say
    exactly how many layers the steps in between made. Where they do not (a pulled base's steps), a
    step that added bytes made one; the rest are given to RUN, COPY or ADD steps, then to WORKDIR
    steps, newest first: a WORKDIR that creates its folder makes a layer of 0 bytes.
    """
    out = [False] * len(layers)
    start, before = 0, 0
    for end, count in enumerate(counts):
        if count is None:
            continue
        span = range(start, end + 1)
        spare = count - before - sum(1 for i in span if layers[i].size_bytes > 0)
        for i in span:
            out[i] = layers[i].size_bytes > 0
        for kinds in (_MAY_BE_EMPTY, ("WORKDIR ",)):
            for i in reversed(span):
                if spare > 0 and not out[i] and layers[i].instruction.upper().startswith(kinds):
                    out[i], spare = True, spare - 1
        start, before = end + 1, count
    return [Layer(x.size_bytes, x.instruction, x.from_base, fs) for x, fs in zip(layers, out)]


def with_layer_sizes(layers: list[Layer], measured: tuple[int, ...]) -> list[Layer]:
    """Give each filesystem layer the size the kit measured for it (the history's sizes are the
    engine's own, which the containerd store and Podman count differently); metadata steps keep 0.

    Where the history marks a different number of filesystem layers than the image has, the
    history's sizes stay: a wrong pairing would be worse than the engine's own figures.
    """
    fs = [i for i, x in enumerate(layers) if x.filesystem]
    if len(fs) != len(measured):
        return layers
    out = list(layers)
    for i, n in zip(fs, measured):
        out[i] = Layer(n, layers[i].instruction, layers[i].from_base, True)
    return out
