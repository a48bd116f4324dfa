"""Tables of build results, as pandas DataFrames a learner reads: plain column names, no NaN.

Every table reads ``BuildResult`` and its derived figures (``results.py``), or what is inside an image
(``contents.Contents``); none calls the engine.
Sizes are written by the kit's one rounding rule (two decimals of a decimal MB).
"""

from __future__ import annotations

import pandas as pd

from .catalog import BASES, VARIANTS
from .contents import Contents
from .results import BaseUsed, BuildResult, mb, mb_text

NONE = "—"  # shown where there is nothing to show (no workshop figure), instead of NaN

#: What the workshop's text says (it rounded: 370MB / 6.37MB is x58).
WORKSHOP_FACTORS = {("multistage", "debian"): "x136", ("multistage", "alpine"): "x60"}


def _by_size(results: list[BuildResult]) -> list[BuildResult]:
    return sorted(results, key=lambda r: -r.size_bytes)


def _bases_text(bases: list[BaseUsed]) -> str:
    return ", ".join(b.used + (" (local equivalent)" if b.local_equivalent else "") for b in bases)


def sizes_table(results: list[BuildResult]) -> pd.DataFrame:
    """Return one row per build, largest first: size (unpacked), compressed, the workshop's figure, layers, bases, time."""
    return pd.DataFrame([{
        "variant": r.variant,
        "what it is": r.title,
        "size (MB)": r.size_mb,
        "compressed (MB)": mb(r.compressed_bytes) if r.compressed_bytes else NONE,
        "workshop (MB)": r.workshop_mb if r.workshop_mb else NONE,
        "filesystem layers": r.fs_layers,
        "added by our Dockerfile (MB)": mb(r.own_bytes),
        "runs as": "non-root" if r.nonroot else "root",
        "bases used": _bases_text(r.bases),
        "build time (s)": round(r.seconds, 1),
    } for r in _by_size(results)])


def layers_table(result: BuildResult, every_step: bool = False) -> pd.DataFrame:
    """Return the image's filesystem layers, oldest first (``every_step``: metadata steps too)."""
    rows = []
    n = 0
    for x in result.layers:
        if x.filesystem:
            n += 1
        elif not every_step:
            continue
        rows.append({"layer": n if x.filesystem else NONE, "size (MB)": mb(x.size_bytes),
                     "from": "the base image" if x.from_base else "our Dockerfile", "instruction": x.instruction})
    return pd.DataFrame(rows)


def image_list(results: list[BuildResult]) -> pd.DataFrame:
    """Return the images as `docker image ls` lists them, with the kit's unpacked figure and the workshop's beside."""
    rows = []
    for r in _by_size(results):
        repo, _, tag = r.tag.rpartition(":")
        rows.append({"REPOSITORY": repo, "TAG": tag, "IMAGE ID": r.image_id.removeprefix("sha256:")[:12],
                     "SIZE": mb_text(r.listed_bytes or r.size_bytes),
                     "unpacked (the kit)": mb_text(r.size_bytes),
                     "workshop (2022)": f"{r.workshop_mb:g} MB" if r.workshop_mb else NONE,
                     "architecture": r.architecture})
    return pd.DataFrame(rows)


def engine_sizes(results: list[BuildResult]) -> pd.DataFrame:
    """Return each build's three sizes in MB: unpacked and compressed (the kit's), and this engine's listing."""
    return pd.DataFrame([{"variant": r.variant, "unpacked (MB)": r.size_mb,
                          "compressed (MB)": mb(r.compressed_bytes) if r.compressed_bytes else NONE,
                          "docker image ls (MB)": mb(r.listed_bytes) if r.listed_bytes else NONE}
                         for r in _by_size(results)])


def sizes_on_engines(by_engine: dict[str, list[BuildResult]]) -> pd.DataFrame:
    """Return each variant's unpacked size and `docker image ls` figure on each engine, largest first.

    ``by_engine`` maps an engine's name to its results; the first engine's sizes set the order. The
    columns are grouped: ("unpacked (MB)", engine) for every engine, then ("docker image ls (MB)", engine).
    """
    first, *_ = by_engine.values()
    found = {title: {r.variant: r for r in results} for title, results in by_engine.items()}
    rows = []
    for r in _by_size(first):
        row: dict[tuple[str, str], object] = {}
        for kind, figure in [("unpacked (MB)", "size_bytes"), ("docker image ls (MB)", "listed_bytes")]:
            for title, results in found.items():
                other = results.get(r.variant)
                n = getattr(other, figure) if other else 0
                row[(kind, title)] = mb(n) if n else NONE
        rows.append(row)
    table = pd.DataFrame(rows, index=pd.Index([r.variant for r in _by_size(first)], name="variant"))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def three_sizes(result: BuildResult) -> pd.DataFrame:
    """Return the three sizes of one image, and what each one is."""
    rows = [("unpacked", result.size_bytes, "the bytes of the image's files as a container sees them: the kit's "
             "figure everywhere, and the kind of figure the workshop gave"),
            ("compressed", result.compressed_bytes, "its layers gzipped: what a registry stores and what "
             "`docker pull` downloads"),
            ("docker image ls", result.listed_bytes, result.why_listed or NONE)]
    return pd.DataFrame([{"size": name, "MB": mb(n) if n else NONE, "what it is": text} for name, n, text in rows])


def bases_used(result: BuildResult) -> pd.DataFrame:
    """Return which image each base ARG of a build asked for, which it got, and what differs."""
    return pd.DataFrame([{"ARG": b.arg, "asked for": b.requested, "used": b.used,
                          "local equivalent": "yes" if b.local_equivalent else "no", "what differs": b.differs or NONE}
                         for b in result.bases])


def base_table(here: dict[str, str], heading: str = "on this engine") -> pd.DataFrame:
    """Return every catalog base: official name, local equivalent, what is ``here``, what differs."""
    return pd.DataFrame([{"base": b.key, "official image": b.official, "local equivalent": b.local or NONE,
                          heading: here.get(b.key, NONE), "what differs": b.differs or NONE}
                         for b in BASES.values()])


def reduction_table(results: list[BuildResult]) -> pd.DataFrame:
    """Recompute the workshop's "x136 smaller than Debian, x60 smaller than Alpine" from our builds."""
    by = {r.variant: r for r in results}
    rows = []
    for small in ["multistage", "scratch-hardened"]:
        for big in ["debian", "alpine"]:
            if small in by and big in by:
                ws_small, ws_big = VARIANTS[small].workshop_mb, VARIANTS[big].workshop_mb
                rows.append({"smaller image": small, "compared with": big,
                             "workshop said": WORKSHOP_FACTORS.get((small, big), NONE),
                             "workshop's own figures give": f"x{ws_big / ws_small:.0f}" if ws_small and ws_big else NONE,
                             "our builds give": f"x{by[small].times_smaller_than(by[big]):.0f}"})
    return pd.DataFrame(rows)


# --- what is inside (lessons 07 and 08): tables of contents.Contents ------------------------------

def _line(created_by: str, width: int = 70) -> str:
    if not created_by:
        return "(no Dockerfile line: the base's first layer, imported)"
    return created_by if len(created_by) <= width else created_by[: width - 3] + "..."


def layer_files(c: Contents) -> pd.DataFrame:
    """Return one row per layer: the Dockerfile line that made it, files added, changed and deleted, and MB."""
    return pd.DataFrame([{"layer": n, "Dockerfile line": _line(by), "files added": added, "changed": changed,
                          "deleted": deleted, "MB": mb(size)} for n, by, added, changed, deleted, size in c.layers])


def leftovers_table(c: Contents) -> pd.DataFrame:
    """Return the leftovers per kind and layer, largest first: files, MB, why, and the line that wrote them."""
    return pd.DataFrame([{"kind": kind, "files": files, "MB": mb(size), "written by": f"layer {layer}: {_line(by, 50)}",
                          "why it should not ship": why} for kind, layer, by, files, size, why in c.leftovers],
                        columns=["kind", "files", "MB", "written by", "why it should not ship"])


def waste_table(contents: list[Contents]) -> pd.DataFrame:
    """Return per image: its files' MB, dive's efficiency and wasted MB, the MB a later layer hid, and leftovers."""
    return pd.DataFrame([{"variant": c.variant, "files (MB)": mb(c.size_bytes), "dive efficiency": round(c.efficiency, 4),
                          "dive wasted (MB)": mb(c.wasted_bytes), "hidden by a later layer (MB)": mb(c.reclaimable_bytes),
                          "leftovers (MB)": mb(c.leftover_bytes)} for c in contents])


def surface_table(contents: list[Contents]) -> pd.DataFrame:
    """Return the attack surface of each image: what an intruder would find, counted, and how it runs."""
    return pd.DataFrame([{"variant": c.variant, "shells": len(s["shells"]), "package managers": len(s["package managers"]),
                          "setuid/setgid files": len(s["setuid/setgid files"]), "OS packages": s["OS packages"],
                          "users": len(s["users"]), "runs as": s["runs as"], "app built with": s["app built with"] or NONE,
                          "CGO_ENABLED": s["CGO_ENABLED"] or NONE, "-trimpath": s["-trimpath"] == "true"}
                         for c in contents for s in [c.surface]])
