"""Plotly figures of build results: sizes (log scale, beside the workshop's figures) and layers; and of
what is inside an image (a treemap of its files, two images side by side, the attack surface).

Figures read BuildResults and ``contents.Contents`` only; they never call the engine. Bars are horizontal, so a long name
(a custom build's two bases) reads on one line and each value label has room of its own. The
renderer is plotly's mimetype renderer: a notebook stores the figure's JSON, not the 3MB plotly.js.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from .contents import Contents
from .fileplots import TREE_COLUMNS, diff_chart_of, diff_of, diff_table, treemap_of
from .results import MB, BuildResult, mb_text

pio.renderers.default = "plotly_mimetype"

OURS = "#1f77b4"
WORKSHOP = "#bbbbbb"
BASE = "#c7c7c7"
DOCKERFILE = "#ff7f0e"


def _text(values_mb: list[float | None]) -> list[str]:
    return [mb_text(x * MB) if x else "" for x in values_mb]


def size_chart(results: list[BuildResult], workshop: bool = True, title: str | None = None) -> go.Figure:
    """Return a bar chart of image sizes in MB (log scale), with the workshop's figures beside ours."""
    results = sorted(results, key=lambda r: r.size_bytes)  # plotly draws the first bar at the bottom
    names = [r.title for r in results]
    ours = [r.size_bytes / MB for r in results]
    fig = go.Figure()
    fig.add_bar(name="our build", y=names, x=ours, orientation="h", marker_color=OURS,
                text=_text(ours), textposition="outside", hovertemplate="%{y}<br>%{x:.2f} MB<extra>our build</extra>")
    if workshop:
        ref = [r.workshop_mb for r in results]
        fig.add_bar(name="workshop (2022)", y=names, x=ref, orientation="h", marker_color=WORKSHOP,
                    text=[f"{x:g} MB" if x else "" for x in ref],  # as the workshop wrote them
                    textposition="outside", hovertemplate="%{y}<br>%{x:.2f} MB<extra>workshop</extra>")
    return _laid_out(fig, title or "Image size per variant (smaller is better)",
                     dict(title="image size (MB, log scale)", type="log"), len(results), barmode="group")


def layers_chart(results: list[BuildResult]) -> go.Figure:
    """Return a stacked bar chart: MB from the base image vs MB our Dockerfile added, per variant."""
    results = sorted(results, key=lambda r: r.size_bytes)
    names = [r.title for r in results]
    base = [r.base_bytes / MB for r in results]
    ours = [r.own_bytes / MB for r in results]
    fig = go.Figure()
    fig.add_bar(name="from the base image", y=names, x=base, orientation="h", marker_color=BASE,
                text=_text(base), textposition="inside")
    fig.add_bar(name="added by our Dockerfile", y=names, x=ours, orientation="h", marker_color=DOCKERFILE,
                text=_text(ours), textposition="outside")
    return _laid_out(fig, "Where the bytes are: base image vs what our Dockerfile added",
                     dict(title="size (MB)"), len(results), barmode="stack")


def _laid_out(fig: go.Figure, title: str, xaxis: dict, n_bars: int, barmode: str) -> go.Figure:
    """Give a bar chart the kit's layout: title, axis titles with units, legend above, room per bar."""
    fig.update_layout(
        title=title,
        xaxis=xaxis,
        yaxis=dict(title="", automargin=True),
        barmode=barmode,
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
        margin=dict(t=90, r=110),
        height=160 + 60 * n_bars,
        uniformtext=dict(minsize=10, mode="show"),
    )
    fig.update_traces(cliponaxis=False)  # a value label past the longest bar stays whole
    return fig


def cache_chart(table: pd.DataFrame) -> go.Figure:
    """Return lesson 09's chart: per Dockerfile and builder, the cold build beside the rebuild after an edit."""
    after = [c for c in table.columns if c.startswith("after")][0]
    names = [f"{d} ({b})" for d, b in zip(table["Dockerfile"], table["builder"])][::-1]
    fig = go.Figure()
    for column, colour in ((after, OURS), ("cold (s)", BASE)):  # plotly draws the first trace at the bottom
        values = list(table[column])[::-1]
        fig.add_bar(name=column.removesuffix(" (s)"), y=names, x=values, orientation="h", marker_color=colour,
                    text=[f"{v:.1f} s" for v in values], textposition="outside")
    return _laid_out(fig, "Build time: cold, and after a one-line edit of main.go (shorter is better)",
                     dict(title="seconds"), 2 * len(table), barmode="group")


# --- what is inside (lessons 07 and 08) -----------------------------------------------------------

def files_treemap(c: Contents) -> go.Figure:
    """Return a treemap of an image's files by folder, each box coloured by the layer that wrote it."""
    return treemap_of(pd.DataFrame(c.boxes, columns=TREE_COLUMNS), [row[1] for row in c.layers], c.size_bytes,
                      title=f"{c.variant}: where the bytes are, by folder ({mb_text(c.size_bytes)} of files)")


def folder_diff_chart(a: Contents, b: Contents) -> tuple[go.Figure, pd.DataFrame]:
    """Return two images side by side, MB per top folder, and the table behind the chart (what is gone)."""
    names = (a.variant, b.variant)
    table = diff_table(diff_of(a.folders, a.size_bytes, b.folders, b.size_bytes), names)
    return diff_chart_of(table, names), table


SURFACE_COUNTS = ["shells", "package managers", "setuid/setgid files", "users"]


def surface_chart(contents: list[Contents]) -> go.Figure:
    """Return a bar chart per image of what an intruder would find: shells, package managers, setuid files, users."""
    fig = go.Figure()
    names = [c.variant for c in contents][::-1]  # the first image on top
    for what in SURFACE_COUNTS:
        counts = [len(c.surface[what]) for c in contents][::-1]
        fig.add_bar(name=what, y=names, x=counts, orientation="h", text=[str(n) if n else "" for n in counts])
    return _laid_out(fig, "What an intruder would find in each image", dict(title="how many"), len(contents) * 2,
                     "group")
