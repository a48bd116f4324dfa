"""What is inside one built image, as lessons 07 and 08 show it: gathered once from the image's files.

Live, ``Contents.of`` reads the image as `docker save` streams it (``inside.read_image_files``) and
keeps only what the lessons show: each layer's added, changed and deleted files and bytes, dive's
efficiency and wasted bytes, the bytes a later layer hid, the leftovers by kind, the treemap's boxes,
the bytes per top folder (for a diff of two images) and the attack surface. That is small enough
to record (``python -m helpers record``), so Binder shows the same tables and pictures, labelled as
recorded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .dive import dive_figures
from .fileplots import file_boxes, folder_sums
from .inside import ImageFiles
from .surface import attack_surface
from .waste import kinds_of, leftover_rows, reclaimable_bytes

LAYER_COLUMNS = ["layer", "created_by", "added", "changed", "deleted", "bytes"]
KIND_COLUMNS = ["kind", "layer", "created_by", "files", "bytes", "why"]  # leftovers, summed per kind and layer
APP_BINARY = "cms-daq-simple-app"  # the Dockerfiles' `go build -o /cms-daq-simple-app`


@dataclass
class Contents:
    """What the lessons show of one image's insides; every list holds plain rows, in its COLUMNS' order."""

    variant: str
    tag: str
    size_bytes: int  # the final tree's files (tar sizes; links and folders weigh 0)
    layers: list[list]  # LAYER_COLUMNS
    efficiency: float  # dive's
    wasted_bytes: int  # dive's: every copy of a path found in two or more layers
    reclaimable_bytes: int  # copies a later layer overwrote or deleted: paid for, never seen
    leftovers: list[list]  # KIND_COLUMNS (waste.kinds_of), largest first
    boxes: list[list]  # fileplots.TREE_COLUMNS: the treemap's leaves
    folders: list[list]  # (folder, bytes, files) per top folder
    surface: dict[str, Any]  # surface_of's keys -> value

    @classmethod
    def of(cls, variant: str, tag: str, image: ImageFiles) -> Contents:
        """Gather what the lessons show from an image's files."""
        dive = dive_figures(image)
        return cls(variant, tag, image.size_bytes, _layer_rows(image), round(dive.efficiency, 6), dive.wasted_bytes,
                   reclaimable_bytes(image), [list(r) for r in kinds_of(leftover_rows(image))],
                   [list(r) for r in file_boxes(image).itertuples(index=False, name=None)],
                   [list(r) for r in folder_sums(image)], surface_of(image))

    @property
    def leftover_bytes(self) -> int:
        """Return the bytes of every leftover file (Go build cache, apt lists, a compiler in a runtime image...)."""
        return sum(r[4] for r in self.leftovers)

    def to_dict(self) -> dict[str, Any]:
        """Return it as plain data, for the recording."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Contents:
        """Read it back from the recording."""
        return cls(**d)


def _layer_rows(image: ImageFiles) -> list[list]:
    """Return each layer's line and what it did: files added, changed, deleted, and the bytes it wrote."""
    rows = []
    for layer in image.layers:
        actions = [c[7] for c in layer.changes if c[1] != "dir"]
        rows.append([layer.index, layer.created_by, actions.count("added"), actions.count("changed"),
                     actions.count("deleted"), layer.tar_bytes])
    return rows


def surface_of(image: ImageFiles) -> dict[str, Any]:
    """Return the attack surface as the cross-variant table shows it, with the names behind each count."""
    s = attack_surface(image)
    app = next((r for r in s.go_rows if r[0].endswith("/" + APP_BINARY)), None)
    return {
        "shells": [r[1] for r in s.shell_rows],
        "package managers": [r[1] for r in s.package_manager_rows],
        "setuid/setgid files": [r[0] for r in s.setuid_rows],
        "OS packages": len(s.package_rows),
        "users": [r[0] for r in s.user_rows],
        "runs as": s.user or "root (no USER)",
        "exposed ports": s.ports,
        "Go binaries": len(s.go_rows),
        "app built with": app[2] if app else "",
        "CGO_ENABLED": app[5] if app else "",
        "-trimpath": app[6] if app else "",
        "-ldflags": app[7] if app else "",  # Go records none when -trimpath is on
        "OS": s.os_release,
    }
