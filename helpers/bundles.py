"""Bundles: one archive of every base image, for a workshop room behind one slow connection.

An instructor saves the bases once (``python -m helpers bundle save FILE``, as `docker save` does) and
hands the file around; learners load it (``bundle load FILE``) instead of pulling from Docker Hub.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from . import engine
from .bases import BaseState, status
from .commands import load_command, save_command
from .errors import BaseImageMissing
from .labels import plain
from .progress import Say


def bundle_save(path: str | Path, refs: list[str] | None = None, say: Say = print) -> list[str]:
    """Write every catalog base on this engine (or just ``refs``) into one archive, as `docker save` does."""
    refs = refs or sorted({s.image for s in status() if s.image and s.state in (BaseState.OFFICIAL, BaseState.LOCAL)})
    if not refs:
        raise BaseImageMissing("There are no base images on this engine to bundle.", "run `python -m helpers images` first.")
    api = engine.client().api
    say(f"Saving {len(refs)} images to {path}: {', '.join(refs)}")
    say(f"  (the same with the docker CLI: {save_command(path, refs)})")
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
    say(f"  (the same with the docker CLI: {load_command(p)})")
    loaded: list[str] = []
    with open(p, "rb") as f:
        for chunk in engine.client().api.load_image(f):
            if "error" in chunk:
                raise BaseImageMissing(f"Loading {p} failed.", "the file may be cut short: copy it again.", chunk["error"])
            if "stream" in chunk:
                line = chunk["stream"].strip()
                say(f"  {line}")
                if line.startswith("Loaded image: "):  # Podman: all on one line, "localhost/a:1,localhost/b:2"
                    loaded += [plain(x.strip()) for x in line.removeprefix("Loaded image: ").split(",") if x.strip()]
    return loaded
