"""Building images: stream the engine's build, show progress, return a BuildResult.

docker-py's high-level ``images.build()`` reads the whole log before it returns, so this module uses
the low-level ``api.build(decode=True)`` stream: each chunk carries a ``stream`` line, an ``aux`` with
the image id, or an ``error`` that we turn into one BuildFailed with the useful tail of the log.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, ImageNotFound

from . import bases as _bases
from . import engine
from .catalog import APP_DIR, LABEL, ROLE_LABEL, TAG_PREFIX, VARIANTS, Variant, variant
from .errors import BaseImageMissing, BuildFailed, DockerfileMissing, KitError
from .progress import STEP, Progress, default_progress
from .results import BaseUsed, BuildResult, Layer

_ARROW = re.compile(r"^ ---> ([0-9a-f]{12})$")
_GO_ERROR = re.compile(r"(\.go:\d+(:\d+)?: |^# |undefined: |syntax error)")
_BASE_GONE = re.compile(
    r"(pull access denied|repository does not exist|manifest unknown|not found: manifest|"
    r"no such host|dial tcp|i/o timeout|toomanyrequests|invalid reference format)",
    re.I,
)


@dataclass
class RawBuild:
    """Hold what the engine streamed back for one successful build."""

    image_id: str
    log: list[str]
    seconds: float
    stage_ids: list[str]  # the last image of every stage but the final one


def stream_build(
    dockerfile: Path,
    context: Path,
    tag: str,
    buildargs: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    target: str | None = None,
    nocache: bool = False,
    progress: Progress | None = None,
) -> RawBuild:
    """Build one Dockerfile against a context, streaming progress; raise BuildFailed on error."""
    _require_dockerfile(dockerfile)
    client = engine.client()
    progress = progress or default_progress(f"Building {tag}")
    log: list[str] = []
    image_id = ""
    stage_ids: list[str] = []
    last_id = ""
    started = time.monotonic()
    try:
        stream = client.api.build(
            path=str(context),
            dockerfile=str(Path(dockerfile).resolve()),
            tag=tag,
            buildargs=buildargs or {},
            labels=labels or {},
            target=target,
            nocache=nocache,
            rm=True,
            forcerm=True,  # remove intermediate containers even when a step fails
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                for text in chunk["stream"].splitlines():
                    if not text.strip():
                        continue
                    log.append(text)
                    m = STEP.match(text)
                    if m:
                        n, total, instruction = int(m[1]), int(m[2]), m[3]
                        if instruction.upper().startswith("FROM") and last_id and n > 1:
                            stage_ids.append(last_id)
                        progress.step(n, total, instruction)
                        continue
                    a = _ARROW.match(text)
                    if a:
                        last_id = a[1]
                    progress.line(text)
            elif "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            elif "error" in chunk:
                message = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                log.append(message)
                raise _build_error(tag, dockerfile, message, log)
    except APIError as exc:
        message = exc.explanation or str(exc)
        log.append(str(message))
        progress.close(False, str(message)[:200])
        remove_if_untagged(last_id)
        raise _build_error(tag, dockerfile, str(message), log) from None
    except KitError as exc:
        progress.close(False, exc.what)
        remove_if_untagged(last_id)
        raise
    seconds = time.monotonic() - started
    if not image_id:  # older engines only print "Successfully built <id>"
        for text in reversed(log):
            if text.startswith("Successfully built "):
                image_id = text.split()[-1]
                break
    progress.close(True, f"{tag} in {seconds:.1f} s")
    return RawBuild(image_id=image_id, log=log, seconds=seconds, stage_ids=stage_ids)


def _require_dockerfile(path: str | Path) -> None:
    """Raise DockerfileMissing unless there is a file at ``path``."""
    if not Path(path).is_file():
        raise DockerfileMissing(
            f"There is no Dockerfile at {path}.",
            "check the path: the kit's Dockerfiles are in dockerfiles/ (restore them with "
            "`git checkout -- dockerfiles/`), the exercise's starting file is notebooks/exercise/Dockerfile.",
        )


def _build_error(tag: str, dockerfile: Path, message: str, log: list[str]) -> Exception:
    """Turn the engine's error line into the kit's error, keeping the lines that explain it."""
    if _BASE_GONE.search(message):
        return BaseImageMissing(
            f"Building {tag} failed: a base image is not here and could not be pulled.",
            "check the image name for typos; run `python -m helpers images` to make the kit's base images; "
            "`docker image ls` lists what this engine has.",
            detail=message,
        )
    go_lines = [x for x in log if _GO_ERROR.search(x) or x.lstrip().startswith("--- FAIL")]
    tail = go_lines[-12:] if go_lines else log[-12:]
    what = f"Building {tag} from {Path(dockerfile).name} failed."
    if any(x.lstrip().startswith("--- FAIL") for x in log):
        what += " The Go tests failed:"
        hint = "read the failing test's file:line below, fix the code (or the test), then build again."
    elif go_lines:
        what += " The Go compiler rejected the code:"
        hint = "fix the Go code at the file:line shown, then build again."
    else:
        hint = "read the last lines of the build below; fix the Dockerfile step they name, then build again."
    detail = "\n".join(tail)
    if message not in detail:
        detail += "\n" + message
    return BuildFailed(what, hint, detail=detail)


def remove_if_untagged(image_id: str | None) -> None:
    """Remove an image no tag names any more, with the untagged images under it that nothing else uses.

    For what a failed build left, an image a rebuild moved its tag away from, a base's helper stage.
    An image that still has a tag (a base, a stage another variant tagged) is kept: removing it by id
    would silently take that tag away. So is one that a container or another image stands on.
    """
    if not image_id:
        return
    try:
        image = engine.client().images.get(image_id)
        if not image.tags:
            engine.client().images.remove(image.id, force=False, noprune=False)
    except (APIError, ImageNotFound):
        pass  # in use, or someone's cache: not a leftover


def layers_of(image_ref: str, base_ref: str | None) -> list[Layer]:
    """Return an image's layers, oldest first, each marked as coming from its base image or not."""
    client = engine.client()
    history = list(reversed(client.images.get(image_ref).history()))
    n_base = 0
    if base_ref and base_ref != "scratch":
        n_base = len(client.images.get(base_ref).history())
    layers = []
    for i, h in enumerate(history):
        instruction = (h.get("CreatedBy") or "").replace("/bin/sh -c #(nop) ", "").replace("/bin/sh -c ", "RUN ")
        layers.append(Layer(size_bytes=int(h.get("Size", 0)), instruction=instruction.strip(), from_base=i < n_base))
    return layers


def build(
    name: str,
    *,
    bases: dict[str, str] | None = None,
    dockerfile: str | Path | None = None,
    tag: str | None = None,
    target: str | None = None,
    nocache: bool = False,
    context: Path = APP_DIR,
    progress: Progress | None = None,
) -> BuildResult:
    """Build a catalog variant (or a custom one) and return what came out.

    ``bases`` overrides ARG -> image (a catalog base key or any image reference); ``dockerfile`` and
    ``tag`` let a lesson build its own Dockerfile under the kit's labels; ``context`` is the folder
    sent to the engine (the app, by default).
    """
    if dockerfile is None:
        v = variant(name)
        path = v.path
    else:
        v = VARIANTS.get(name) or Variant(name, str(dockerfile), name, "custom build", {})
        path = Path(dockerfile)
        _require_dockerfile(path)  # before resolving bases, which may pull
    wanted = dict(v.bases)
    wanted.update(bases or {})
    used: list[BaseUsed] = [_bases.resolve(arg, ref) for arg, ref in wanted.items()]
    if tag is None:
        repo = v.tag.rsplit(":", 1)[0] if dockerfile is None and not bases else f"{TAG_PREFIX}{slug(name)}"
        # A stage built on its own (--target test) gets its own tag, never the variant's :latest.
        tag = f"{repo}:{slug(target) if target else 'latest'}"
    repo = tag.rsplit(":", 1)[0]
    old_ids = {t: _bases.image_id(t) for t in [tag] + [f"{repo}:stage-{i}" for i in range(1, 6)]}
    raw = stream_build(
        path,
        Path(context),
        tag,
        buildargs={b.arg: b.used for b in used},
        labels={LABEL: "true", ROLE_LABEL: "variant", "org.cms-daq-kit.variant": name},
        target=target,
        nocache=nocache,
        progress=progress,
    )
    client = engine.client()
    # Tag each earlier stage's image (the classic builder leaves it untagged: `<none>` in `docker
    # image ls`). A tag keeps it as build cache and lets `clean` find it; the lessons show its size.
    for i, sid in enumerate(raw.stage_ids, start=1):
        client.images.get(sid).tag(repo, tag=f"stage-{i}")
    image = client.images.get(raw.image_id or tag)
    for old in set(old_ids.values()):
        remove_if_untagged(old)
    # The image's own base: the runtime one, unless there is none or only an earlier stage was built.
    by_arg = {b.arg: b.used for b in used}
    ends_on_runtime = "RUNTIME_IMAGE" in by_arg and target in (None, "final")
    final_base = by_arg.get("RUNTIME_IMAGE" if ends_on_runtime else "BUILDER_IMAGE")
    return BuildResult(
        variant=name,
        tag=tag,
        image_id=image.id,
        size_bytes=int(image.attrs["Size"]),
        layers=layers_of(image.id, final_base),
        bases=used,
        seconds=round(raw.seconds, 2),
        architecture=image.attrs.get("Architecture", "?"),
        user=(image.attrs.get("Config") or {}).get("User") or "",
        fs_layers=len((image.attrs.get("RootFS") or {}).get("Layers") or []),
        log=raw.log,
    )


def slug(text: str) -> str:
    """Turn any text into a piece of an image tag: lower case, letters, digits and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "custom"
