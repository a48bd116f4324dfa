"""What lessons 07 and 08 show of an image's insides (helpers/contents.py), its tables and charts.

Tests of internals: synthetic archives (tests/test_inside.py's makers) with figures worked out by
hand, a round trip through the recording's plain data, and the recorded mode's answer for a variant
the recording did not read.
"""

from __future__ import annotations

import json

import pytest
from test_inside import archive, layer, read

from helpers.contents import Contents
from helpers.plots import files_treemap, folder_diff_chart, surface_chart
from helpers.tables import layer_files, leftovers_table, surface_table, waste_table

GO_CACHE = "root/.cache/go-build/ab/abcdef-d"


def _single_stage() -> Contents:
    """A base with a shell, apt's lists and a setuid su; then `go build`, leaving its cache and a binary."""
    data = archive(layer(("bin/", "dir"), ("bin/sh", "file", b"s" * 100, 0o755), ("bin/su", "file", b"u" * 10, 0o4755),
                         ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
                         ("var/lib/apt/lists/deb_Packages", "file", b"p" * 300)),
                   layer(("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\nuser:x:1:1::/:/bin/sh\n"),
                         (GO_CACHE, "file", b"c" * 500), ("cms-daq-simple-app", "file", b"a" * 50, 0o755)),
                   steps=["RUN apt-get update", "RUN go build -o /cms-daq-simple-app"])
    return Contents.of("debian", "cms-daq-workshop-debian:latest", read(data))


def _scratch() -> Contents:
    data = archive(layer(("cms-daq-simple-app", "file", b"a" * 50, 0o755)),
                   steps=["COPY /cms-daq-simple-app /cms-daq-simple-app"], config={"User": "65532:65532"})
    return Contents.of("multistage", "cms-daq-workshop-multistage:latest", read(data))


def test_contents_count_each_layer_and_the_leftovers() -> None:
    c = _single_stage()
    assert c.layers == [[0, "RUN apt-get update", 4, 0, 0, 440],  # sh 100, su 10, passwd 30, the list 300 (folders: 0)
                        [1, "RUN go build -o /cms-daq-simple-app", 2, 1, 0, 602]]  # cache 500, binary 50; passwd 52 changed
    assert c.size_bytes == 100 + 10 + 52 + 300 + 500 + 50  # passwd's final copy only
    assert c.reclaimable_bytes == 30  # passwd's first copy, hidden by layer 1
    assert [(r[0], r[1], r[3], r[4]) for r in c.leftovers] == [("go build cache", 1, 1, 500), ("apt lists", 0, 1, 300)]
    assert c.leftover_bytes == 800
    assert c.surface["shells"] == ["/bin/sh"] and c.surface["setuid/setgid files"] == ["/bin/su"]
    assert c.surface["users"] == ["root", "user"] and c.surface["runs as"] == "root (no USER)"


def test_contents_survive_the_recording() -> None:
    c = _single_stage()
    again = Contents.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


def test_the_tables_and_charts_read_contents_only() -> None:
    big, small = _single_stage(), _scratch()
    assert layer_files(big)["files added"].tolist() == [4, 2]
    assert leftovers_table(big)["kind"].tolist() == ["go build cache", "apt lists"]
    waste = waste_table([big, small]).set_index("variant")
    assert waste.loc["multistage", "leftovers (MB)"] == 0 and waste.loc["debian", "hidden by a later layer (MB)"] == 0.0
    surface = surface_table([big, small]).set_index("variant")
    assert surface.loc["debian", "shells"] == 1 and surface.loc["multistage", "shells"] == 0
    assert surface.loc["multistage", "runs as"] == "65532:65532"
    assert not surface.isna().any().any() and not waste.isna().any().any()
    _chart, gone = folder_diff_chart(big, small)
    assert gone.set_index("folder").loc["/cms-daq-simple-app", "gone (MB)"] == 0
    assert files_treemap(big).data[0].type == "treemap" and len(surface_chart([big, small]).data) == 4


def test_the_recording_without_a_variant_says_so() -> None:
    from helpers.errors import RecordingMissing
    from helpers.source import RecordedSource

    src = RecordedSource()
    src.recording.inside = {}
    result = next(iter(src.recording.results.values()))
    with pytest.raises(RecordingMissing, match="has not looked inside"):
        src.contents(result)
