"""Build results: what one build produced, as plain data, and every figure derived from it.

Tables, charts, checks, recordings and the command line all read sizes through ``BuildResult``'s
properties and write them with ``mb_text``: one place for MB, base vs ours, titles and the
workshop's figures, and one rounding rule (two decimals of a decimal MB, as in "6.52 MB").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .catalog import VARIANTS

MB = 1_000_000  # Docker reports sizes in decimal megabytes: 6.37MB is 6,370,000 bytes.


def mb(n_bytes: float) -> float:
    """Return bytes as decimal MB, rounded by the kit's one rule (two decimals)."""
    return round(n_bytes / MB, 2)


def mb_text(n_bytes: float) -> str:
    """Write bytes as the kit writes every size: "6.52 MB", "760.18 MB"."""
    return f"{n_bytes / MB:.2f} MB"


#: What each image store's own `docker image ls` figure is, in one sentence.
def engine_title(product: str, version: str, image_store: str) -> str:
    """Name an engine by what decides its `docker image ls` figure: "Docker 26.1.5, containerd image store"."""
    version = version.split("+")[0]  # "20.10.24+dfsg1": Debian's packaging, not another engine
    if product == "Podman" or image_store == "podman":
        return f"Podman {version}"
    return f"Docker {version}, {image_store or 'classic'} image store"


STORE_SAYS = {
    "classic": "this engine keeps images unpacked (the classic image store), so `docker image ls` "
               "shows the unpacked size, the kit's figure",
    "containerd": "this engine keeps images in the containerd image store, which holds each layer twice, "
                  "as it came (built or pulled: compressed; loaded: as it was saved) and unpacked, so "
                  "`docker image ls` shows the two added together, up to about twice the unpacked size",
    "podman": "Podman counts an image's size its own way (its storage's layer sizes, with metadata), "
              "so `podman images` and `docker image ls` on it show a figure of their own",
}


@dataclass
class Layer:
    """Describe one step of an image's history: its size, the instruction, and where it came from.

    ``filesystem`` says whether the step made a filesystem layer; metadata steps (ENV, LABEL, CMD,
    EXPOSE, ...) are listed in the history but add no layer. The kit counts filesystem layers.
    """

    size_bytes: int
    instruction: str
    from_base: bool
    filesystem: bool = True


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
    command: str = ""  # the docker command that does what this build did (helpers/commands.py)
    # The kit measures size_bytes itself (unpacked, helpers/sizes.py); beside it:
    compressed_bytes: int = 0  # gzipped layers: what a registry stores and a learner downloads
    listed_bytes: int = 0  # what this engine's `docker image ls` says
    image_store: str = ""  # "classic", "containerd" or "podman": why the listed figure is what it is

    # -- derived figures: the one home for each ----------------------------------------------
    @property
    def size_mb(self) -> float:
        """Return the size in decimal MB, rounded as the kit shows it."""
        return mb(self.size_bytes)

    @property
    def base_bytes(self) -> int:
        """Return the bytes that came with the image's base image."""
        return sum(x.size_bytes for x in self.layers if x.from_base)

    @property
    def own_bytes(self) -> int:
        """Return the bytes our Dockerfile's steps added."""
        return sum(x.size_bytes for x in self.layers if not x.from_base)

    @property
    def title(self) -> str:
        """Return the variant's title (a custom build's name when it is not a catalog variant)."""
        v = VARIANTS.get(self.variant)
        return v.title if v else self.variant

    @property
    def workshop_mb(self) -> float | None:
        """Return the workshop's figure for this variant in MB, or None where the workshop had none."""
        v = VARIANTS.get(self.variant)
        return v.workshop_mb if v else None

    @property
    def why_listed(self) -> str:
        """Say in one sentence why this engine's `docker image ls` shows the figure it shows."""
        return STORE_SAYS.get(self.image_store, "")

    @property
    def nonroot(self) -> bool:
        """Say whether the image's default user is someone other than root."""
        return self.user not in ("", "0", "root", "0:0")

    @property
    def uses_local_bases(self) -> bool:
        """Say whether any base was a local equivalent."""
        return any(b.local_equivalent for b in self.bases)

    def times_smaller_than(self, other: BuildResult) -> float:
        """Return how many times smaller this image is than ``other`` (the workshop's "x136")."""
        return other.size_bytes / self.size_bytes

    # -- as data -------------------------------------------------------------------------------
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
