"""An image's sizes as the kit measures them itself, the same on every engine, cached per layer.

Engines disagree about what "the size of an image" is:
- the classic engine (overlay2 and the other graph drivers) says the **unpacked** bytes of its
  layers' files: the workshop's 865 / 370 / 6.37 MB are that figure;
- the containerd image store says the **compressed** content in ``docker image inspect`` and
  unpacked + compressed in ``docker image ls``;
- Podman counts its own way again.
So the kit reads each image's layers itself (``image.py``, one streamed ``docker save``) and keeps,
per layer (named by its content digest, the same on every engine), the unpacked bytes and the
gzipped bytes (what a registry stores and a learner downloads). A layer is read once per machine:
the bases' layers, shared by every variant, cost nothing after the first build.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from . import engine
from .errors import KitError
from .image import read_image


@dataclass(frozen=True)
class ImageSizes:
    """One image's sizes: unpacked (the kit's figure), gzipped, and what this engine lists."""

    unpacked_bytes: int
    compressed_bytes: int
    listed_bytes: int  # what `docker image ls` says on this engine
    layer_bytes: tuple[int, ...]  # unpacked bytes of each filesystem layer, oldest first
    store: str  # "classic", "containerd" or "podman": which figure `docker image ls` shows


def cache_file() -> Path:
    """Return where measured layer sizes are kept (``KIT_CACHE_DIR``, else ~/.cache/cms-daq-kit)."""
    root = os.environ.get("KIT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cms-daq-kit")
    return Path(root) / f"layer-sizes-v{COUNTING}.json"


#: How layers are counted; a new way of counting starts a new cache (2: a symlink's target in bytes).
COUNTING = 2

_lock = threading.Lock()


def _load() -> dict[str, dict[str, int]]:
    try:
        data = json.loads(cache_file().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: measure again


def _save(known: dict[str, dict[str, int]]) -> None:
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=0, sort_keys=True))
        tmp.replace(path)  # whole or not at all: two kernels may measure at once
    except OSError:
        pass  # a read-only home: the figures are still right, only measured again next time


def image_store() -> str:
    """Say which kind of image store this engine has: "classic", "containerd" or "podman"."""
    if engine.is_podman():
        return "podman"
    return engine.image_store_of(engine.client().info())


def measure(image_ref: str) -> ImageSizes:
    """Measure an image: read its layers once (``docker save``), or take them from the cache.

    The layers are named by their diff IDs (the digest of the unpacked layer), which every engine
    gives the same layer, so a figure measured on one engine holds on any other.
    """
    client = engine.client()
    image = client.images.get(image_ref)
    diff_ids = list((image.attrs.get("RootFS") or {}).get("Layers") or [])
    with _lock:
        known = _load()
        if any(d not in known for d in diff_ids):
            stats = read_image(image.id)
            if len(stats.layers) != len(diff_ids):
                raise KitError(
                    f"The engine's copy of {image_ref} has {len(stats.layers)} layers, its description {len(diff_ids)}.",
                    "remove the image and build it again.")
            for d, layer in zip(diff_ids, stats.layers):
                known[d] = {"unpacked": layer.unpacked_bytes, "gzip": layer.gzip_bytes}
            _save(known)
    layers = tuple(known[d]["unpacked"] for d in diff_ids)
    return ImageSizes(
        unpacked_bytes=sum(layers),
        compressed_bytes=sum(known[d]["gzip"] for d in diff_ids),
        listed_bytes=_listed(image.id),
        layer_bytes=layers,
        store=image_store(),
    )


def _listed(image_id: str) -> int:
    """Return the size `docker image ls` shows for this image on this engine."""
    for row in engine.client().api.images(all=True):
        if row.get("Id") == image_id:
            return int(row.get("Size") or 0)
    return 0
