"""Build results: what one build produced, as plain data that tables, plots and recordings share."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from .catalog import MB, VARIANTS


@dataclass
class Layer:
    """Describe one layer of an image: its size and the instruction that made it."""

    size_bytes: int
    instruction: str
    from_base: bool


@dataclass
class BaseUsed:
    """Record which image a Dockerfile ARG actually got: the official one or a local equivalent."""

    arg: str
    requested: str
    used: str
    local_equivalent: bool
    image_id: str = ""
    differs: str = ""


@dataclass
class BuildResult:
    """Record what one build produced: tag, id, size, layers, the bases used, time and log."""

    variant: str
    tag: str
    image_id: str
    size_bytes: int
    layers: list[Layer]
    bases: list[BaseUsed]
    seconds: float
    architecture: str
    user: str = ""
    fs_layers: int = 0  # filesystem layers (RootFS); history also lists metadata-only steps
    log: list[str] = field(default_factory=list)
    greeting: str | None = None  # filled in when a container of it answered

    @property
    def size_mb(self) -> float:
        """Return the size in decimal MB, as Docker counts."""
        return self.size_bytes / MB

    @property
    def nonroot(self) -> bool:
        """Say whether the image's default user is someone other than root."""
        return self.user not in ("", "0", "root", "0:0")

    @property
    def uses_local_bases(self) -> bool:
        """Say whether any base was a local equivalent."""
        return any(b.local_equivalent for b in self.bases)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BuildResult:
        """Rebuild a result from ``to_dict()`` data."""
        d = dict(d)
        d["layers"] = [Layer(**x) for x in d.get("layers", [])]
        d["bases"] = [BaseUsed(**x) for x in d.get("bases", [])]
        return cls(**d)


def human_size(n_bytes: float, sep: str = "") -> str:
    """Format bytes as `docker image ls` does: decimal units, three significant digits (6.52MB)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g}{sep}{unit}"
    return f"{n_bytes:.0f}{sep}B"


def sizes_table(results: list[BuildResult]) -> pd.DataFrame:
    """Return one row per build: size in MB, the workshop's figure, layers, bases used, seconds."""
    rows = []
    for r in results:
        v = VARIANTS.get(r.variant)
        rows.append(
            {
                "variant": r.variant,
                "title": v.title if v else r.variant,
                "size_mb": round(r.size_mb, 2),
                "workshop_mb": v.workshop_mb if v else None,
                "layers": r.fs_layers,
                "our_layers_mb": round(sum(x.size_bytes for x in r.layers if not x.from_base) / MB, 2),
                "non_root": r.nonroot,
                "bases": ", ".join(f"{b.used}" + (" (local equivalent)" if b.local_equivalent else "") for b in r.bases),
                "build_s": round(r.seconds, 1),
            }
        )
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values("size_mb", ascending=False).reset_index(drop=True)
    return df


def layers_table(result: BuildResult) -> pd.DataFrame:
    """Return one row per layer of a build, oldest first: size in MB, from the base or from our Dockerfile."""
    return pd.DataFrame(
        [
            {
                "variant": result.variant,
                "layer": i,
                "size_mb": round(x.size_bytes / MB, 3),
                "origin": "base image" if x.from_base else "our Dockerfile",
                "instruction": x.instruction,
            }
            for i, x in enumerate(result.layers)
        ]
    )
