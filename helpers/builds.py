"""The build journey: from a variant's name to a ``BuildResult``, whichever builder does the building.

    plan     variant (or a Dockerfile of your own) -> Dockerfile, bases resolved, tag
    build    a Builder (classic now; BuildKit next) -> image id, log, earlier stages
    keep     tag each earlier stage (kept as cache, found by ``clean``), drop what a rebuild replaced
    result   sizes measured from the image's own layers (sizes.py), layers (from the base or ours),
             bases used, user -> BuildResult
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from docker.errors import NotFound

from . import engine, sizes, store
from .bases import resolve
from .builders import Builder, BuildRequest, ClassicBuilder
from .buildkit import BuildKitBuilder, default_choice
from .catalog import APP_DIR, VARIANTS, variant
from .commands import build_command
from .dockerfile import Dockerfile, arg_name
from .errors import DockerfileMissing, InvalidName, KitError
from .labels import (
    catalog_variant_of,
    check_tag,
    image_tag,
    is_stage_tag,
    kit_labels,
    learner_labels,
    repo_of,
    stage_tag,
)
from .progress import Progress, default_progress
from .results import BaseUsed, BuildResult


@dataclass
class Plan:
    """Say what one build will do: which Dockerfile, on which bases, under which tag."""

    name: str
    dockerfile: Path
    bases: list[BaseUsed]
    tag: str
    target: str | None
    labels: dict[str, str]  # what the build adds; a catalog Dockerfile's final stage carries its own

    @property
    def final_base(self) -> str | None:
        """Return the image the built stage stands on (None for scratch or a Dockerfile without FROM)."""
        dockerfile = Dockerfile.read(self.dockerfile)
        source = dockerfile.final_source(self.target)
        if source is None:
            return None
        arg = arg_name(source)
        if arg is None:
            return None if source == "scratch" else source
        used = {b.arg: b.used for b in self.bases}
        return used.get(arg) or dockerfile.args.get(arg)


def require_dockerfile(path: str | Path) -> Path:
    """Return ``path`` as a Path, or raise DockerfileMissing unless there is a file there."""
    if not Path(path).is_file():
        raise DockerfileMissing(
            f"There is no Dockerfile at {path}.",
            "check the path: the kit's Dockerfiles are in dockerfiles/ (restore them with "
            "`git checkout -- dockerfiles/`), the exercise's starting file is notebooks/exercise/Dockerfile.",
        )
    return Path(path)


def plan(
    name: str,
    bases: dict[str, str] | None = None,
    dockerfile: str | Path | None = None,
    tag: str | None = None,
    target: str | None = None,
) -> Plan:
    """Decide what a build does: the Dockerfile, each base ARG's image, and the tag.

    A catalog variant keeps its own tag (``cms-daq-workshop-debian:latest``, in the learner's namespace
    when there is one) only when it is built from its own Dockerfile on its own bases; anything else
    gets a tag of its own, never a catalog variant's in any learner's namespace.
    """
    own = VARIANTS.get(name) if dockerfile is None else None
    path = variant(name).path if own else require_dockerfile(dockerfile or variant(name).path)
    as_catalog = own is not None and not bases
    if tag is None:
        tag = image_tag(name if as_catalog or name not in VARIANTS else f"custom-{name}", target)
    check_tag(tag)
    owner = catalog_variant_of(repo_of(tag), list(VARIANTS))
    if not as_catalog and owner is not None:
        raise InvalidName(
            f"The tag {tag} belongs to the catalog's variant {owner}.",
            "give your own build a name (or tag) of its own, so the lesson's image stays what it says.",
        )
    wanted = dict(own.bases if own else {})
    wanted.update(bases or {})
    used = [resolve(arg, ref) for arg, ref in wanted.items()]  # after the checks: this may pull
    # A catalog variant's Dockerfile ends with its LABEL line: added again, the labels would make an
    # image other than the one `docker build` of the same Dockerfile makes (lessons 01-03's terminal).
    # A learner's build adds the learner's label only, as those cells' {learner-label} does.
    labels = learner_labels() if as_catalog and target is None else kit_labels("variant", variant=name)
    return Plan(name, path, used, tag, target, labels)


def build(
    name: str,
    *,
    bases: dict[str, str] | None = None,
    dockerfile: str | Path | None = None,
    tag: str | None = None,
    target: str | None = None,
    nocache: bool = False,
    context: str | Path = APP_DIR,
    progress: Progress | None = None,
    builder: Builder | str | None = None,
    timeout: float | None = None,
) -> BuildResult:
    """Build a catalog variant (or a Dockerfile of your own) and return what came out.

    ``bases`` overrides ARG -> image (a catalog base key or any image reference); ``dockerfile`` and
    ``tag`` build your own Dockerfile under the kit's labels; ``context`` is the folder sent to the
    engine (the app, by default); ``builder`` picks who builds: "buildkit" or "classic", or any
    ``Builder``; by default BuildKit where the engine and a Docker CLI have it, else classic (KIT_BUILDER chooses);
    ``timeout`` bounds the build in seconds (default: KIT_BUILD_TIMEOUT, or 900).
    """
    p = plan(name, bases, dockerfile, tag, target)
    repo = repo_of(p.tag)
    before = store.repo_tags(repo)
    parents = {old: store.parent_of(old) for old in set(before.values())}  # read now: the build may delete `old`
    request = BuildRequest(p.dockerfile, Path(context), p.tag, {b.arg: b.used for b in p.bases},
                           p.labels, target, nocache)
    if timeout is not None:
        request.timeout = timeout
    chosen = builder_named(builder)
    raw = chosen.build(request, progress or default_progress(f"Building {p.tag}"))
    try:
        _keep_stages(repo, raw.stage_ids)
        for tag, old in before.items():  # what the new build's tags moved away from, if nothing else names it
            if tag == p.tag or is_stage_tag(tag):
                store.remove_if_untagged(old, parents[old])
        result = _result(p, raw.image_id or p.tag, raw.seconds, raw.log)
    except NotFound:  # measured once: 1 of 8 learners building at once on one engine (docs/INSTRUCTORS.md)
        raise KitError(f"The image just built ({p.tag}) was gone before the kit could read it: something else on "
                       "this engine removed it (a `docker image rm`, a prune, or a `clean` run as this learner).",
                       "build again (the cached steps make it quick); in a room, give each learner a name of their "
                       "own (JUPYTERHUB_USER or KIT_LEARNER), so that no one removes another's images.") from None
    result.command = build_command(request, chosen.typed())
    return result


def builder_named(builder: Builder | str | None) -> Builder:
    """Return the builder a call asked for: a Builder as it is, "classic" / "buildkit" by name, or for None
    the default (``buildkit.default_choice``: BuildKit where this engine and a Docker CLI have it)."""
    if builder is None:
        builder = default_choice()[0]
    if builder == "classic":
        return ClassicBuilder()
    if builder == "buildkit":
        return BuildKitBuilder()
    if isinstance(builder, str):
        raise KitError(f"There is no builder called '{builder}'.", "use builder='classic' or builder='buildkit'.")
    return builder


def _keep_stages(repo: str, stage_ids: list[str]) -> None:
    """Tag each earlier stage's image: it stays as build cache, and ``clean`` finds it.

    The classic builder leaves them untagged (``<none>`` in ``docker image ls``).
    """
    client = engine.client()
    for i, sid in enumerate(stage_ids, start=1):
        try:
            client.images.get(sid).tag(*stage_tag(repo, i).rsplit(":", 1))
        except NotFound:  # another build removed it meanwhile (it was untagged): only its cache is lost
            continue


def _result(p: Plan, image_ref: str, seconds: float, log: list[str]) -> BuildResult:
    """Read the built image back from the engine into a BuildResult."""
    image = engine.client().images.get(image_ref)
    rootfs = (image.attrs.get("RootFS") or {}).get("Layers") or []
    measured = sizes.measure(image.id)
    return BuildResult(
        variant=p.name,
        tag=p.tag,
        image_id=image.id,
        size_bytes=measured.unpacked_bytes,
        compressed_bytes=measured.compressed_bytes,
        listed_bytes=measured.listed_bytes,
        image_store=measured.store,
        layers=store.with_layer_sizes(store.layers_of(image.id, p.final_base), measured.layer_bytes),
        bases=p.bases,
        seconds=round(seconds, 2),
        architecture=image.attrs.get("Architecture", "?"),
        user=(image.attrs.get("Config") or {}).get("User") or "",
        fs_layers=len(rootfs),
        log=log,
    )
