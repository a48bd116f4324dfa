"""Pictures of what is inside an image: its files by folder, coloured by the line that wrote them, and
two images side by side, folder by folder (what the smaller one no longer carries).

Figures read ``inside.ImageFiles`` only; they never call the engine. Notebooks store a figure's JSON
(plotly's mimetype renderer), so every figure is aggregated first and kept small: folders cut at a
depth, anything under ``min_share`` of the image folded into one "(other)" box per folder and layer,
sizes rounded to 0.01 MB. The tables behind the figures are returned by their own functions, and are
what the tests check.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict

import pandas as pd
import plotly.graph_objects as go

from .inside import ImageFiles
from .results import MB

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
FOLDER = "#eeeeee"
OTHER = "(other)"
TREE_COLUMNS = ["id", "parent", "label", "layer", "created_by", "bytes", "files"]
DIFF_COLUMNS = ["folder", "bytes_a", "bytes_b", "gone_bytes", "files_a", "files_b"]


def _cut(path: str, depth: int) -> str:
    """Return the path cut to its first ``depth`` names ("/usr/lib/go-1.19" for depth 3): a folder, or the file itself."""
    names = path.strip("/").split("/")
    return "/" + "/".join(names[:depth])


def layer_color(layer: int) -> str:
    """Return the colour of a layer (the palette repeats after ten layers)."""
    return PALETTE[layer % len(PALETTE)]


def file_boxes(image: ImageFiles, depth: int = 3, min_share: float = 0.01) -> pd.DataFrame:
    """Return the treemap's leaves: the image's files summed per folder (cut at ``depth``) and per layer.

    Columns ``TREE_COLUMNS``: a leaf's ``id`` is its folder and layer; a leaf under ``min_share`` of
    the image's bytes is folded into its parent's "(other)" leaf of the same layer. Folders, links and
    empty files weigh nothing and are left out.
    """
    sums: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    steps = {i: layer.created_by for i, layer in enumerate(image.layers)}
    total = 0
    for path, kind, size, *_, layer, _by in image.tree_rows:
        if kind == "dir" or size <= 0:
            continue
        s = sums[(_cut(path, depth), layer)]
        s[0] += size
        s[1] += 1
        total += size
    folded: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (key, layer), (size, files) in sums.items():
        if size < min_share * total:
            key = posixpath.join(posixpath.dirname(key), OTHER)
        f = folded[(key, layer)]
        f[0] += size
        f[1] += files
    rows = [(f"{key} L{layer}", posixpath.dirname(key), posixpath.basename(key), layer, steps.get(layer, ""), size, files)
            for (key, layer), (size, files) in folded.items()]
    rows.sort(key=lambda r: (-r[5], r[0]))
    return pd.DataFrame(rows, columns=TREE_COLUMNS)


def image_treemap(image: ImageFiles, depth: int = 3, min_share: float = 0.01, title: str = "") -> go.Figure:
    """Return a treemap of the image's files by folder, each box coloured by the layer (Dockerfile line) that wrote it."""
    return treemap_of(file_boxes(image, depth, min_share), [layer.created_by for layer in image.layers],
                      image.size_bytes, depth, title)


def treemap_of(leaves: pd.DataFrame, layers: list[str], size_bytes: int, depth: int = 3, title: str = "") -> go.Figure:
    """Return the treemap of ``file_boxes`` leaves; ``layers`` names each layer's Dockerfile line (the legend)."""
    folders: dict[str, int] = defaultdict(int)
    for parent, size in zip(leaves["parent"], leaves["bytes"]):
        node = parent
        while True:
            folders[node] += int(size)
            if node == "/":
                break
            node = posixpath.dirname(node)
    ids = list(folders) + list(leaves["id"])
    parents = [("" if f == "/" else posixpath.dirname(f)) for f in folders] + list(leaves["parent"])
    labels = [(f if f == "/" else posixpath.basename(f)) for f in folders] + list(leaves["label"])
    values = [0] * len(folders) + [round(b / MB, 2) for b in leaves["bytes"]]  # folders: the sum of what is in them
    text = [f"{b / MB:.2f} MB" for b in folders.values()] + [
        f"{b / MB:.2f} MB, {n} files, layer {la}" for b, n, la in zip(leaves["bytes"], leaves["files"], leaves["layer"])]
    colors = [FOLDER] * len(folders) + [layer_color(int(la)) for la in leaves["layer"]]
    fig = go.Figure(go.Treemap(ids=ids, parents=parents, labels=labels, values=values, text=text,
                               branchvalues="remainder", marker=dict(colors=colors), maxdepth=depth + 1,
                               texttemplate="%{label}<br>%{text}", hovertemplate="%{id}<br>%{text}<extra></extra>"))
    for i, created_by in enumerate(layers):  # a treemap has no legend of its own: one entry per layer
        fig.add_scatter(x=[None], y=[None], mode="markers", name=f"layer {i}: {created_by[:60]}",
                        marker=dict(color=layer_color(i), size=12, symbol="square"))
    fig.update_layout(title=title or f"Where the bytes are, by folder ({size_bytes / MB:.2f} MB of files)",
                      xaxis=dict(visible=False), yaxis=dict(visible=False), plot_bgcolor="white",
                      legend=dict(orientation="h", y=-0.02, yanchor="top"), margin=dict(t=60, l=10, r=10, b=10),
                      height=560)
    return fig


def folder_sums(image: ImageFiles, depth: int = 1) -> list[tuple[str, int, int]]:
    """Return the image's files summed per folder (cut at ``depth``): (folder, bytes, files), by folder."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, kind, size, *_ in image.tree_rows:
        if kind != "dir" and size > 0:
            s = sums[_cut(path, depth)]
            s[0] += size
            s[1] += 1
    return sorted((folder, b, n) for folder, (b, n) in sums.items())


def folder_diff(a: ImageFiles, b: ImageFiles, depth: int = 1, min_share: float = 0.01) -> pd.DataFrame:
    """Return two images' bytes per folder (cut at ``depth``): in A, in B, gone from A to B, and files in each.

    Folders under ``min_share`` of both images are summed into one "(other)" row. Largest in A first.
    """
    return diff_of(folder_sums(a, depth), a.size_bytes, folder_sums(b, depth), b.size_bytes, min_share)


def diff_of(sums_a: list[tuple[str, int, int]], total_a: int, sums_b: list[tuple[str, int, int]], total_b: int,
            min_share: float = 0.01) -> pd.DataFrame:
    """Return ``folder_diff`` from each image's ``folder_sums`` and its bytes (DIFF_COLUMNS)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for i, rows in enumerate((sums_a, sums_b)):
        for folder, size, files in rows:
            s = sums[folder]
            s[i] += size
            s[2 + i] += files
    totals = [max(1, total_a), max(1, total_b)]
    out_rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for folder, s in sums.items():
        small = s[0] < min_share * totals[0] and s[1] < min_share * totals[1]
        r = out_rows[OTHER if small else folder]
        for k in range(4):
            r[k] += s[k]
    out = [(f, s[0], s[1], s[0] - s[1], s[2], s[3]) for f, s in out_rows.items()]
    out.sort(key=lambda r: (r[0] == OTHER, -r[1], -r[2], r[0]))
    return pd.DataFrame(out, columns=DIFF_COLUMNS)


def diff_table(diff: pd.DataFrame, names: tuple[str, str] = ("A", "B")) -> pd.DataFrame:
    """Return ``folder_diff`` as a learner reads it: MB in each image and MB gone, rounded by the kit's rule."""
    return pd.DataFrame({"folder": diff["folder"], f"{names[0]} (MB)": (diff["bytes_a"] / MB).round(2),
                         f"{names[1]} (MB)": (diff["bytes_b"] / MB).round(2),
                         "gone (MB)": (diff["gone_bytes"] / MB).round(2),
                         f"files in {names[0]}": diff["files_a"], f"files in {names[1]}": diff["files_b"]})


def diff_chart(a: ImageFiles, b: ImageFiles, names: tuple[str, str] = ("A", "B"), depth: int = 1,
               min_share: float = 0.01) -> tuple[go.Figure, pd.DataFrame]:
    """Return a chart of two images side by side, MB per folder, and the table behind it (``diff_table``)."""
    table = diff_table(folder_diff(a, b, depth, min_share), names)
    return diff_chart_of(table, names), table


def diff_chart_of(table: pd.DataFrame, names: tuple[str, str]) -> go.Figure:
    """Return the chart of a ``diff_table``: MB per folder, the two images side by side."""
    rows = table.iloc[::-1]  # plotly draws the first bar at the bottom: the largest folder goes on top
    fig = go.Figure()
    for name, color in zip(names, ("#c7c7c7", "#1f77b4")):
        col = rows[f"{name} (MB)"]
        fig.add_bar(name=name, y=list(rows["folder"]), x=list(col), orientation="h", marker_color=color,
                    text=[f"{x:.2f} MB" if x else "" for x in col], textposition="outside",
                    hovertemplate="%{y}<br>%{x:.2f} MB<extra>" + name + "</extra>")
    fig.update_layout(title=f"{names[0]} vs {names[1]}: MB per folder ({table['gone (MB)'].sum():.2f} MB gone)",
                      xaxis=dict(title="size (MB)"), yaxis=dict(title="", automargin=True), barmode="group",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
                      margin=dict(t=90, r=110), height=160 + 50 * len(table))
    fig.update_traces(cliponaxis=False)
    return fig
