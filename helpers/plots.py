"""Plotly figures of build results: sizes (log scale, beside the workshop's figures) and layers.

Figures read BuildResults only; they never call the engine. The renderer is plotly's mimetype
renderer: a notebook stores the figure's JSON, not the 3MB plotly.js bundle.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from .catalog import MB, VARIANTS
from .results import BuildResult, human_size

pio.renderers.default = "plotly_mimetype"

OURS = "#1f77b4"
WORKSHOP = "#bbbbbb"
BASE = "#c7c7c7"
DOCKERFILE = "#ff7f0e"


def _label(mb: float | None) -> str:
    return human_size(mb * MB, sep=" ") if mb else ""


def _title(r: BuildResult) -> str:
    v = VARIANTS.get(r.variant)
    return v.title if v else r.variant


def size_chart(results: list[BuildResult], workshop: bool = True, title: str | None = None) -> go.Figure:
    """Return a bar chart of image sizes in MB (log scale), with the workshop's figures beside ours."""
    results = sorted(results, key=lambda r: -r.size_bytes)
    names = [_title(r) for r in results]
    ours = [r.size_bytes / MB for r in results]
    fig = go.Figure()
    fig.add_bar(name="our build", x=names, y=ours, marker_color=OURS,
                text=[_label(x) for x in ours], textposition="outside",
                hovertemplate="%{x}<br>%{y:.2f} MB<extra>our build</extra>")
    if workshop:
        ref = [VARIANTS[r.variant].workshop_mb if r.variant in VARIANTS else None for r in results]
        fig.add_bar(name="workshop (2022)", x=names, y=ref, marker_color=WORKSHOP,
                    text=[_label(x) for x in ref], textposition="outside",
                    hovertemplate="%{x}<br>%{y:.2f} MB<extra>workshop</extra>")
    return _laid_out(fig, title or "Image size per variant (smaller is better)",
                     dict(title="image size (MB, log scale)", type="log"), barmode="group")


def layers_chart(results: list[BuildResult]) -> go.Figure:
    """Return a stacked bar chart: MB from the base image vs MB our Dockerfile added, per variant."""
    results = sorted(results, key=lambda r: -r.size_bytes)
    names = [_title(r) for r in results]
    base = [sum(x.size_bytes for x in r.layers if x.from_base) / MB for r in results]
    ours = [sum(x.size_bytes for x in r.layers if not x.from_base) / MB for r in results]
    fig = go.Figure()
    fig.add_bar(name="from the base image", x=names, y=base, marker_color=BASE,
                text=[_label(x) for x in base], textposition="inside")
    fig.add_bar(name="added by our Dockerfile", x=names, y=ours, marker_color=DOCKERFILE,
                text=[_label(x) for x in ours], textposition="outside")
    return _laid_out(fig, "Where the bytes are: base image vs what our Dockerfile added",
                     dict(title="size (MB)"), barmode="stack")


def _laid_out(fig: go.Figure, title: str, yaxis: dict, barmode: str) -> go.Figure:
    """Give a bar chart the kit's layout: title, axis titles with units, legend above the bars."""
    fig.update_layout(
        title=title,
        yaxis=yaxis,
        xaxis=dict(title="image variant"),
        barmode=barmode,
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
        margin=dict(t=90),
        height=480,
    )
    return fig
