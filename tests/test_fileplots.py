"""Pictures of what is inside an image: the numbers behind the treemap and the side-by-side diff.

Tests of internals, on archives made in the test (no engine); every number is worked out by hand.
"""

from __future__ import annotations

import io
import json

from test_inside import archive, layer

from helpers.fileplots import diff_chart, file_boxes, image_treemap, folder_diff
from helpers.inside import ImageFiles, read_files


def read(data: bytes) -> ImageFiles:
    return read_files(io.BytesIO(data))


def image_a() -> ImageFiles:
    """Layer 0 (COPY . /): /usr/lib/go/a 6000 B, /usr/lib/go/b 2000 B, /usr/bin/sh 1000 B, /etc/x 10 B, /etc/d/.
    Layer 1 (RUN build): /usr/lib/go/c 900 B, /app 90 B, and /usr/lib/go/b again (3000 B: the kept copy counts)."""
    return read(archive(layer(("usr/lib/go/a", "file", b"a" * 6000), ("usr/lib/go/b", "file", b"b" * 2000),
                              ("usr/bin/sh", "file", b"s" * 1000), ("etc/x", "file", b"x" * 10), ("etc/d/", "dir")),
                        layer(("usr/lib/go/c", "file", b"c" * 900), ("app", "file", b"p" * 90),
                              ("usr/lib/go/b", "file", b"B" * 3000)),
                        steps=["COPY . /", "RUN build"]))


def test_the_treemap_sums_files_per_folder_and_layer() -> None:
    boxes = file_boxes(image_a(), depth=3, min_share=0.01)  # total 6000 + 3000 + 1000 + 10 + 900 + 90 = 11000
    got = {i: (p, lab, la, b, n) for i, p, lab, la, b, n in
           zip(boxes["id"], boxes["parent"], boxes["label"], boxes["layer"], boxes["bytes"], boxes["files"])}
    assert got == {
        "/usr/lib/go L0": ("/usr/lib", "go", 0, 6000, 1),  # a; b's first copy is gone
        "/usr/lib/go L1": ("/usr/lib", "go", 1, 3900, 2),  # b's second copy and c
        "/usr/bin/sh L0": ("/usr/bin", "sh", 0, 1000, 1),
        "/etc/(other) L0": ("/etc", "(other)", 0, 10, 1),  # /etc/x: 10 B < 1 % of 11000, folded in its folder
        "/(other) L1": ("/", "(other)", 1, 90, 1),  # /app: 90 B < 110 B, folded at the top
    }
    assert boxes["bytes"].tolist() == sorted(boxes["bytes"], reverse=True)
    assert set(boxes["created_by"]) == {"COPY . /", "RUN build"}
    shallow = file_boxes(image_a(), depth=1, min_share=0)
    assert dict(zip(shallow["id"], shallow["bytes"])) == {"/usr L0": 7000, "/usr L1": 3900, "/etc L0": 10, "/app L1": 90}


def test_the_treemap_figure_is_small_and_adds_up() -> None:
    fig = image_treemap(image_a(), depth=3, min_share=0.01)
    tree = fig.data[0]
    nodes = dict(zip(tree.ids, zip(tree.parents, tree.values, tree.text)))
    # folders carry 0 (branchvalues="remainder": a folder is the sum of what is in it) and say their total
    assert nodes["/"] == ("", 0, "0.01 MB") and nodes["/usr/lib"] == ("/usr", 0, "0.01 MB")
    assert nodes["/usr/lib/go L1"] == ("/usr/lib", 0.0, "0.00 MB, 2 files, layer 1")  # 3900 B rounds to 0.00 MB
    assert set(tree.ids) == {"/", "/usr", "/usr/lib", "/usr/bin", "/etc", "/usr/lib/go L0", "/usr/lib/go L1",
                             "/usr/bin/sh L0", "/etc/(other) L0", "/(other) L1"}
    assert [t.name for t in fig.data[1:]] == ["layer 0: COPY . /", "layer 1: RUN build"]  # the legend: one per layer
    assert tree.marker.colors[list(tree.ids).index("/usr/lib/go L1")] != tree.marker.colors[list(tree.ids).index(
        "/usr/lib/go L0")]
    assert len(fig.to_json()) < 10_000


def test_the_diff_says_what_is_gone_per_folder() -> None:
    small = read(archive(layer(("app", "file", b"p" * 90), ("etc/x", "file", b"x" * 10),
                               ("usr/share/zoneinfo/UTC", "file", b"z" * 5))))
    diff = folder_diff(image_a(), small, depth=1, min_share=0.01)
    assert diff.values.tolist() == [
        ["/usr", 10900, 5, 10895, 4, 1],  # a, b, c, sh vs UTC
        ["/app", 90, 90, 0, 1, 1],  # 90 B is 90 % of the small image: kept as its own row
        ["/etc", 10, 10, 0, 1, 1],  # 10 % of the small image
    ]
    fig, table = diff_chart(image_a(), small, names=("big", "small"))
    assert table.columns.tolist() == ["folder", "big (MB)", "small (MB)", "gone (MB)", "files in big", "files in small"]
    assert table["gone (MB)"].tolist() == [0.01, 0.0, 0.0]
    assert [t.name for t in fig.data] == ["big", "small"] and list(fig.data[0].y) == ["/etc", "/app", "/usr"]
    assert json.loads(fig.to_json())["data"][0]["x"] == [0.0, 0.0, 0.01]


def test_small_folders_of_both_images_are_one_other_row() -> None:
    big = read(archive(layer(("usr/a", "file", b"a" * 10_000), ("opt/x", "file", b"x" * 20), ("srv/y", "file", b"y" * 30))))
    same = folder_diff(big, big, depth=1, min_share=0.01)
    assert same.values.tolist() == [["/usr", 10_000, 10_000, 0, 1, 1], ["(other)", 50, 50, 0, 2, 2]]
