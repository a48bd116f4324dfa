"""Cleaning up: remove only what the kit made, never a learner's own images or containers.

What counts as the kit's:
- containers that carry the kit's container label (set only when the kit starts a container), and
  containers with the workshop's names (``cms-daq-simple-app-*``), which the lessons' terminal cells
  start with ``docker run``;
- what a kit build cut short left: its step containers and untagged step images (``build_leftovers``);
- images tagged in the kit's namespaces (``cms-daq-workshop-*``, and with ``bases=True`` also
  ``kit-local/*``), whether the kit built them or a lesson's terminal cell did. An image a learner
  builds FROM a kit image under a name of their own is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from docker.errors import APIError, NotFound
from docker.models.containers import Container

from . import engine, store
from .commands import remove_command
from .labels import (
    CONTAINER,
    LOCAL_NAMESPACE,
    MANAGED,
    SEED_CONTAINER_PREFIX,
    TAG_PREFIX,
    is_kit_tag,
    plain,
)


@dataclass
class CleanReport:
    """List what a clean-up removed, and what it could not."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"removed {len(self.containers)} containers and {len(self.images)} image tags"]
        lines += [f"  - {x}" for x in self.containers + self.images]
        lines += [f"  kept (in use): {x}" for x in self.kept]
        images = [x for x in self.images if not x.startswith("untagged ")]
        if self.containers or images:
            lines.append(f"(the same with the docker CLI: {remove_command(self.containers, images)})")
        return "\n".join(lines)


def kit_containers() -> list[Container]:
    """Return every container (running or not) that the kit started, or a lesson's terminal cell did."""
    client = engine.client()
    started = client.containers.list(all=True, filters={"label": f"{CONTAINER}=true"})
    typed = [c for c in client.containers.list(all=True, filters={"name": SEED_CONTAINER_PREFIX})
             if c.name.startswith(SEED_CONTAINER_PREFIX) and c.id not in {s.id for s in started}]
    return started + typed


def build_leftovers() -> tuple[list[Container], list[str]]:
    """Return what a kit build cut short left: its step containers, and its untagged step images.

    A build the engine could not finish (it was killed mid-build) leaves the container of the step
    that was running, and the images of the steps before it. Both inherit the labels of the kit's
    base images, which is how they are told apart from a learner's own: a container the kit did not
    start, not running, whose command is a Dockerfile step (``/bin/sh -c ...``); an untagged image.
    """
    client = engine.client()
    containers = [c for c in client.containers.list(all=True, filters={"label": f"{MANAGED}=true"})
                  if c.status != "running" and CONTAINER not in (c.labels or {})
                  and (c.attrs.get("Config") or {}).get("Cmd", [])[:2] == ["/bin/sh", "-c"]]
    images = [i.id for i in client.images.list(filters={"dangling": True, "label": f"{MANAGED}=true"})]
    return containers, images


def kit_image_tags(bases: bool = False) -> list[str]:
    """Return the tags of the images the kit built (and, with ``bases``, the local base images), as
    Docker names them (Podman's docker.io/library/... and localhost/... without their prefix)."""
    # By name: stage images carry no label (only final images get it), nor does an image built in a
    # terminal cell from a Dockerfile without the kit's LABEL line (the exercise's).
    return sorted({plain(t) for image in engine.client().images.list() for t in image.tags if is_kit_tag(t, bases)})


def clean(bases: bool = False) -> CleanReport:
    """Remove the kit's containers and built images; with ``bases``, the local base images too."""
    report = CleanReport()
    stale_steps, step_images = build_leftovers()
    for c in kit_containers() + stale_steps:
        try:
            c.remove(force=True)
            report.containers.append(c.name)
        except (APIError, NotFound):
            report.kept.append(c.name)
    for image_id in step_images:
        if store.remove_if_untagged(image_id):
            report.images.append(f"untagged {image_id.removeprefix('sha256:')[:12]}")
    # Built images first, local bases last: an image goes before the bases it stands on.
    for tag in sorted(kit_image_tags(bases), key=lambda t: t.startswith(LOCAL_NAMESPACE)):
        removed = store.remove_tag(tag)  # with the untagged parents the containerd image store leaves
        if removed:
            report.images.append(tag)
        elif removed is False:
            report.kept.append(tag)
    return report


def remove_repo(repo: str) -> list[str]:
    """Remove every tag of one of the kit's image repositories (e.g. a throw-away build and its stages)."""
    if not repo.startswith(TAG_PREFIX):
        raise ValueError(f"{repo} is not one of the kit's repositories")
    return store.remove_tags(sorted(store.repo_tags(repo)))
