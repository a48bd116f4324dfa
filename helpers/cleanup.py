"""Cleaning up: remove only what the kit made, never a learner's own images or containers.

What counts as the kit's:
- containers that carry the kit's container label (set only when the kit starts a container), and
  containers with the workshop's names (``cms-daq-simple-app-*``), which the lessons' terminal cells
  start with ``docker run``;
- what a kit build cut short left: its step containers and untagged step images (``build_leftovers``);
- images tagged in the kit's namespaces (``cms-daq-workshop-*``, and with ``bases=True`` also
  ``localhost/kit-local/*``), whether the kit built them or a lesson's terminal cell did. An image a learner
  builds FROM a kit image under a name of their own is left alone.

Whose it is, when learners share an engine (``labels.learner()``; names and labels in labels.py).
A kit object is a learner's when its name is in that learner's form (a tag in ``alice/``, a container
name ending ``.alice``), else when it carries ``org.cms-daq-kit.learner=alice`` (the kit's containers;
an image built under a tag of its own; a container a terminal cell ran from her image inherits it).
Otherwise it is no learner's. ``clean`` removes only the objects of this kernel's learner:
- with a learner, hers alone: never another learner's, never an object of no learner's, and never
  the shared bases, even with ``bases=True``: other learners' builds stand on them (the report says
  so). Removing them is for a clean with no learner (``KIT_LEARNER= python -m helpers clean --bases``).
- with no learner (alone on a laptop), what it removed before learners existed, less what carries
  another learner's name or label: an instructor's clean on a classroom's engine leaves the room's.
- what a build cut short left cannot, mostly, be told apart per learner: a step container and an
  untagged step image carry the labels of the image the step stands on, and the kit's builds stand
  on the shared bases (the learner's label is the last step of a build, and a classic build's
  ``--label`` too). So a learner's clean removes only those that carry her label (a build FROM one of
  her images) and leaves the rest; a clean with no learner removes those that carry no learner's
  label, as before: on a shared engine that includes a learner's build cut short (and, for the
  instant between two steps, a step of a build still running, as it always did).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from docker.errors import APIError, NotFound
from docker.models.containers import Container

from . import engine, store
from .commands import remove_command
from .labels import (
    CONTAINER,
    LEARNER,
    LOCAL_PREFIX,
    MANAGED,
    SEED_CONTAINER_PREFIX,
    TAG_PREFIX,
    is_kit_tag,
    is_seed_container,
    learner,
    plain,
    split_container,
    split_learner,
)

Labels = Mapping[str, str] | None


def labelled_learner(labels: Labels) -> str | None:
    """Return the learner an object's labels name (None: none)."""
    return (labels or {}).get(LEARNER) or None


def tag_owner(tag: str, labels: Labels) -> str | None:
    """Return whose a kit tag is: the learner whose namespace it is in, else the one its image's label names."""
    return split_learner(tag)[0] or labelled_learner(labels)


def container_owner(name: str, labels: Labels) -> str | None:
    """Return whose a kit container is: the learner whose form its name is in, else the one its label names."""
    return split_container(name)[0] or labelled_learner(labels)


def tags_to_remove(images: Iterable[tuple[Iterable[str], Labels]], who: str | None, bases: bool = False) -> list[str]:
    """Return the tags ``clean`` removes of these images (each: its tags, its labels), for learner ``who``
    (None: no learner), as Docker names them; the local bases' too with ``bases`` and no learner."""
    out = set()
    for tags, labels in images:
        for tag in tags:
            if is_kit_tag(tag):
                if tag_owner(tag, labels) == who:
                    out.add(plain(tag))
            elif bases and who is None and is_kit_tag(tag, bases=True):
                out.add(plain(tag))
    return sorted(out)


def is_kit_container_of(name: str, labels: Labels, who: str | None) -> bool:
    """Say whether ``clean`` removes this container for learner ``who``: the kit started it, or it has a
    workshop name, and it is ``who``'s (None: no learner's)."""
    started = (labels or {}).get(CONTAINER) == "true"
    return (started or is_seed_container(name)) and container_owner(name, labels) == who


def is_stale_step(labels: Labels, running: bool, command: list[str], who: str | None) -> bool:
    """Say whether a container is a step of a kit build that was cut short, and ``who``'s (see the module)."""
    labels = labels or {}
    return (labels.get(MANAGED) == "true" and not running and CONTAINER not in labels
            and command[:2] == ["/bin/sh", "-c"] and labelled_learner(labels) == who)


@dataclass
class CleanReport:
    """List what a clean-up removed, and what it could not."""

    containers: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"removed {len(self.containers)} containers and {len(self.images)} image tags"]
        lines += [f"  - {x}" for x in self.containers + self.images]
        lines += [f"  kept (in use): {x}" for x in self.kept]
        lines += [f"  {x}" for x in self.notes]
        images = [x for x in self.images if not x.startswith("untagged ")]
        if self.containers or images:
            lines.append(f"(the same with the docker CLI: {remove_command(self.containers, images)})")
        return "\n".join(lines)


def kit_containers() -> list[Container]:
    """Return every container (running or not) that the kit started, or a lesson's terminal cell did,
    of this learner (see the module)."""
    client, who = engine.client(), learner()
    started = client.containers.list(all=True, filters={"label": f"{CONTAINER}=true"})
    typed = [c for c in client.containers.list(all=True, filters={"name": SEED_CONTAINER_PREFIX})
             if c.id not in {s.id for s in started}]
    return [c for c in started + typed if is_kit_container_of(c.name, c.labels, who)]


def build_leftovers() -> tuple[list[Container], list[str]]:
    """Return what a kit build cut short left: its step containers, and its untagged step images.

    A build the engine could not finish (it was killed mid-build) leaves the container of the step
    that was running, and the images of the steps before it. Both inherit the labels of the kit's
    base images, which is how they are told apart from a learner's own: a container the kit did not
    start, not running, whose command is a Dockerfile step (``/bin/sh -c ...``); an untagged image.
    With a learner, only those that carry the learner's label (see the module).
    """
    client, who = engine.client(), learner()
    containers = [c for c in client.containers.list(all=True, filters={"label": f"{MANAGED}=true"})
                  if is_stale_step(c.labels, c.status == "running", (c.attrs.get("Config") or {}).get("Cmd") or [],
                                   who)]
    images = [i.id for i in store.listed(filters={"dangling": True, "label": f"{MANAGED}=true"})
              if labelled_learner(i.labels) == who]
    return containers, images


def kit_image_tags(bases: bool = False) -> list[str]:
    """Return the tags of the images the kit built (and, with ``bases`` and no learner, the local base
    images), this learner's (see the module), as Docker names them (Podman's docker.io/library/... and
    localhost/... without their prefix)."""
    # By name: stage images carry no label (only final images get it), nor does an image built in a
    # terminal cell from a Dockerfile without the kit's LABEL line (the exercise's).
    return tags_to_remove([(image.tags, image.labels) for image in store.listed()], learner(), bases)


def clean(bases: bool = False) -> CleanReport:
    """Remove the kit's containers and built images, this learner's only (see the module); with
    ``bases`` and no learner, the local base images too (with a learner, they stay: they are shared)."""
    report = CleanReport()
    if bases and learner():
        report.notes.append(f"kept the shared base images ({LOCAL_PREFIX}/...): other learners' builds stand "
                            "on them; with no learner (KIT_LEARNER= python -m helpers clean --bases) they go")
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
    for tag in sorted(kit_image_tags(bases), key=lambda t: t.startswith(LOCAL_PREFIX)):
        removed = store.remove_tag(tag)  # with the untagged parents the containerd image store leaves
        if removed:
            report.images.append(tag)
        elif removed is False:
            report.kept.append(tag)
    return report


def remove_repo(repo: str) -> list[str]:
    """Remove every tag of one of the kit's image repositories (e.g. a throw-away build and its stages)."""
    if not split_learner(repo)[1].startswith(TAG_PREFIX):
        raise ValueError(f"{repo} is not one of the kit's repositories")
    return store.remove_tags(sorted(store.repo_tags(repo)))
