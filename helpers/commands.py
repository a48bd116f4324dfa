"""The docker commands the kit's calls stand for, written so a learner can copy them into a terminal.

The workshop teaches commands (`docker build --tag ... -f ... app/`, `docker run -d --name ... -p
8082:8080 ...`); the kit's helpers do the same through the engine's API. These functions write the
exact command for a given build or run, with its real tag, Dockerfile, build arguments and port,
paths relative to the kit's folder (where `make lessons` opens the terminal).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from .builders import BuildRequest
from .catalog import REPO


def _path(p: str | Path) -> str:
    path = Path(p).resolve()
    try:
        return str(path.relative_to(REPO)) or "."
    except ValueError:
        return str(path)


def build_args(request: BuildRequest, path: Callable[[str | Path], str] = _path) -> list[str]:
    """Return the arguments of `docker build` for ``request``: tag, Dockerfile, args, labels, ..., context.

    The one place a request becomes CLI arguments: the BuildKit builder runs them (with absolute
    paths), ``build_command`` shows them (with paths a learner types from the kit's folder).
    """
    args = ["--tag", request.tag, "-f", path(request.dockerfile)]
    for k, v in request.buildargs.items():
        args += ["--build-arg", f"{k}={v}"]
    for k, v in request.labels.items():
        args += ["--label", f"{k}={v}"]
    if request.target:
        args += ["--target", request.target]
    if request.nocache:
        args.append("--no-cache")
    return [*args, path(request.context)]


def build_command(request: BuildRequest, typed: Sequence[str]) -> str:
    """Return the `docker build` that does what the kit's build of ``request`` does.

    ``typed``: what comes before the arguments, the builder's own (``Builder.typed()``), such as the classic
    builder's `DOCKER_BUILDKIT=0 docker build`.
    """
    return " ".join(shlex.quote(a) for a in [*typed, *build_args(request)])


def run_command(tag: str, name: str, host_port: int | None) -> str:
    """Return the `docker run` that starts a container as the kit's run() does."""
    publish = f"{host_port}:8080" if host_port else "8080"  # no host port: Docker picks a free one
    return " ".join(shlex.quote(a) for a in ["docker", "run", "-d", "--name", name, "-p", publish, tag])


def image_list_command(tags: list[str]) -> str:
    """Return the `docker image ls` that lists these images' repositories (one as an argument, more as filters)."""
    repos = list(dict.fromkeys(t.rsplit(":", 1)[0] if ":" in t.split("/")[-1] else t for t in tags))
    if len(repos) == 1:
        return f"docker image ls {shlex.quote(repos[0])}"
    return " ".join(["docker", "image", "ls", *(f"--filter reference={shlex.quote(r)}" for r in repos)])


def save_command(path: str | Path, refs: list[str]) -> str:
    """Return the `docker save` that writes these images into one archive, as ``bundle save`` does."""
    return " ".join(["docker", "save", "-o", shlex.quote(str(path)), *(shlex.quote(r) for r in refs)])


def load_command(path: str | Path) -> str:
    """Return the `docker load` that loads an archive, as ``bundle load`` does."""
    return f"docker load -i {shlex.quote(str(path))}"


def remove_command(containers: list[str], images: list[str]) -> str:
    """Return the commands that remove these containers and image tags, as ``clean`` did."""
    parts = []
    if containers:
        parts.append(" ".join(["docker", "rm", "-f", *(shlex.quote(c) for c in containers)]))
    if images:
        parts.append(" ".join(["docker", "image", "rm", *(shlex.quote(i) for i in images)]))
    return " && ".join(parts)


def stop_command(name: str) -> str:
    """Return the command that stops and removes a container, as leaving the kit's `with` block does."""
    return f"docker rm -f {shlex.quote(name)}"


def inspect_command(ref: str, path: str | Path = "image.tar") -> str:
    """Return the commands that do what ``python -m helpers inspect IMAGE`` does: save the image, inspect the file."""
    return f"{save_command(path, [ref])} && python -m helpers inspect {shlex.quote(str(path))}"
