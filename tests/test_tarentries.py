"""The fast tar reader (``helpers.tarentries``) gives what ``tarfile`` gives, in every format a layer can have.

Tests of internals. No engine: every tar is made here by ``tarfile`` (or by GNU tar, where it is installed,
for sparse files), or crafted header by header where no writer makes it (v7, a base-256 size). Each is read
both ways the kit reads a layer: at random (a saved file) and as a stream handed over in small pieces,
with a window and chunks small enough that headers straddle them.
"""

from __future__ import annotations

import gzip
import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from test_image import to_oci
from test_inside import archive, layer

from helpers import tarentries
from helpers.errors import KitError
from helpers.inside import read_files
from helpers.tarentries import BadTar, read_entries

LAYER_ERROR = "A layer of the image archive could not be read as a tar"


class Trickle(io.RawIOBase):
    """A stream that cannot seek and hands over at most ``step`` bytes a read (as a socket may)."""

    def __init__(self, data: bytes, step: int = 777) -> None:
        self.f, self.step = io.BytesIO(data), step

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.f.read(min(len(b), self.step))
        b[:len(data)] = data
        return len(data)


@pytest.fixture(autouse=True, params=[(512, 512), (3 * 512 + 100, 2 * 512 + 7), (8192, 4096)],
                ids=lambda p: f"window{p[0]}-chunk{p[1]}")
def small_reads(monkeypatch, request) -> None:
    """Read in windows and chunks of one block to a few, so that entries and headers straddle them or end at them."""
    monkeypatch.setattr(tarentries, "WINDOW", request.param[0])
    monkeypatch.setattr(tarentries, "CHUNK", request.param[1])


def listing(entries) -> list[tuple]:
    """Return (name, type, size, mode, uid, gid, linkname, data) per entry, the data of regular files only."""
    out = []
    for e in entries:
        data = None
        if e.type in tarfile.REGULAR_TYPES:
            data = e.read()
        out.append((e.name, e.type, e.size, e.mode, e.uid, e.gid, e.linkname, data))
    return out


def by_tarfile(data: bytes) -> list[tuple]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
        return listing(_Data(t, m) for m in t)


class _Data:
    """A TarInfo with a ``read`` of its data, so both listings come from one function."""

    def __init__(self, tar: tarfile.TarFile, info: tarfile.TarInfo) -> None:
        self.tar, self.info = tar, info
        self.name, self.type, self.size, self.mode = info.name, info.type, info.size, info.mode
        self.uid, self.gid, self.linkname = info.uid, info.gid, info.linkname

    def read(self) -> bytes:
        return self.tar.extractfile(self.info).read()


def both_ways(data: bytes) -> list[list[tuple]]:
    """Return the listing of a tar read at random, and read as a stream (its first block handed over apart)."""
    at_random = listing(read_entries(io.BytesIO(data)))
    streamed = listing(read_entries(io.BufferedReader(Trickle(data[512:]), 1000), head=data[:512], at_random=False))
    return [at_random, streamed]


def assert_like_tarfile(data: bytes) -> None:
    expected = by_tarfile(data)
    assert expected, "the tar lists nothing"
    for got in both_ways(data):
        assert got == expected


def a_tar(fmt: int, entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]], **kw) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape", **kw) as t:
        for x in entries:
            info, data = x if isinstance(x, tuple) else (x, None)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def info(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "", mode: int = 0o644,
         uid: int = 0, gid: int = 0) -> tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]:
    i = tarfile.TarInfo(name)
    i.type, i.linkname, i.mode, i.uid, i.gid = kind, link, mode, uid, gid
    if kind == tarfile.REGTYPE:
        i.size = len(data)
        return i, data
    return i


def a_layer(fmt: int) -> list:
    """Return the entries of a layer with a bit of everything a format can hold."""
    long_dir = "/".join(["d" * 40] * 3)  # 122 characters: ustar's prefix holds it
    entries = [
        info("./", tarfile.DIRTYPE, mode=0o755),
        info("etc/", tarfile.DIRTYPE, mode=0o755),
        info("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"),
        info("empty"),
        info("usr/bin/tool", data=b"\x7fELF" + bytes(range(256)) * 20, mode=0o755, uid=1000, gid=1000),
        info("a" * 99, data=b"99"), info("b" * 100, data=b"100"),
        info(long_dir + "/" + "n" * 99, data=b"prefixed"),
        info(long_dir, tarfile.DIRTYPE, mode=0o700),
        info("hard", tarfile.LNKTYPE, link="etc/passwd"),
        info("soft", tarfile.SYMTYPE, link="../usr/bin/tool"),
        info("etc/.wh.shadow"), info("var/.wh..wh..opq"),
        info("dev/null", tarfile.CHRTYPE, mode=0o666), info("pipe", tarfile.FIFOTYPE),
        info("setuid", data=b"s", mode=0o4755, uid=65534, gid=65534),
        info("ünïcödé/файл.txt", data=b"utf-8 name"),
        info("caf\udce9", data=b"latin-1 name"),  # byte 0xe9, no UTF-8: tarfile reads it back as "\udce9"
    ]
    if fmt != tarfile.USTAR_FORMAT:  # what ustar cannot hold
        entries += [
            info("/".join(["e" * 60] * 5) + "/file", data=b"over 255"),  # 307 characters
            info("x" * 300 + "-dir/", tarfile.DIRTYPE),
            info("long-link", tarfile.SYMTYPE, link="t/" * 100),
            info("long-hard", tarfile.LNKTYPE, link="e" * 120),
            info("big-ids", data=b"ids", uid=3_000_000, gid=2_097_152),  # past 7 octal digits
            info("caf\udce9-" + "z" * 120, data=b"long latin-1 name"),
        ]
    return entries


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
                         ids=["ustar", "gnu", "pax"])
def test_every_format_reads_as_tarfile_reads_it(fmt: int) -> None:
    assert_like_tarfile(a_tar(fmt, a_layer(fmt)))


def test_gnu_numbers_past_their_octal_digits_are_base_256() -> None:
    """GNU writes a negative id, and a size past 8 GiB, in base 256 (a first byte of 0xff or 0x80)."""
    folder = tarfile.TarInfo("huge-dir")  # a folder's size is never skipped: no 9 GiB of data needed
    folder.type, folder.size = tarfile.DIRTYPE, 9 << 30
    data = a_tar(tarfile.GNU_FORMAT, [info("negative", data=b"n", uid=-2, gid=-70000), folder, info("after")])
    assert data[512 * 2 + 124] == 0x80  # the folder's size field: base 256
    assert_like_tarfile(data)
    assert both_ways(data)[0][1][2] == 9 << 30


def test_a_file_of_9_gib_is_skipped_by_its_base_256_size() -> None:
    big = tarfile.TarInfo("huge")
    big.size = 9 << 30
    header = big.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    expected = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
    for f in (io.BytesIO(header + bytes(1024)), io.BufferedReader(Trickle(header + bytes(1024)))):
        entries = read_entries(f)
        e = next(entries)
        assert (e.name, e.type, e.size) == (expected.name, expected.type, 9 << 30)
        with pytest.raises(BadTar, match="unexpected end of data"):  # its bytes are not there
            next(entries)


def test_pax_headers_override_the_header() -> None:
    """A global header's uid holds for every entry after it; an entry's own pax size and path win."""
    sized = tarfile.TarInfo("short-name")
    sized.size = 5
    sized.pax_headers = {"size": "5", "path": "from/pax/" + "p" * 120, "mode": "0777", "comment": "kept apart"}
    data = a_tar(tarfile.PAX_FORMAT, [(sized, b"12345"), info("plain", data=b"x")],
                 pax_headers={"uid": "77", "comment": "global"})
    assert data[156:157] == tarfile.XGLTYPE
    assert_like_tarfile(data)
    assert [e[0] for e in both_ways(data)[0]] == ["from/pax/" + "p" * 120, "plain"]


def with_field(data: bytes, at: int, field: bytes) -> bytes:
    """Return a tar with a field of the header at ``at`` changed, and its checksum made good again."""
    block = bytearray(data[at:at + 512])
    block[:len(field)] = field
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return data[:at] + bytes(block) + data[at + 512:]


def test_a_pax_size_is_the_size_the_data_takes() -> None:
    """An entry's header says 0 bytes, its pax header 5: the next header is 5 bytes (a block) further."""
    sized = tarfile.TarInfo("sized")
    sized.size, sized.pax_headers = 5, {"size": "5"}
    data = a_tar(tarfile.PAX_FORMAT, [(sized, b"12345"), info("next", data=b"x")])
    header = 1024  # after the pax header and its records
    assert data[header:header + 5] == b"sized"
    data = with_field(data, header, data[header:header + 124] + b"00000000000\0")
    assert_like_tarfile(data)
    assert [e[0] for e in both_ways(data)[0]] == ["sized", "next"]


def v7_header(name: str, kind: bytes, size: int = 0) -> bytes:
    """Return a v7 header (no magic, no prefix, no owner names), as tar wrote before ustar."""
    block = bytearray(512)
    block[0:len(name)] = name.encode()
    for at, width, value in [(100, 8, 0o644), (108, 8, 7), (116, 8, 8), (124, 12, size), (136, 12, 0)]:
        block[at:at + width] = b"%0*o\0" % (width - 1, value)
    block[156:157] = kind
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def test_v7_headers_and_a_folder_named_with_a_slash() -> None:
    data = (v7_header("old/", tarfile.AREGTYPE) + v7_header("old/file", tarfile.AREGTYPE, 3) + b"abc".ljust(512, b"\0")
            + bytes(1024))
    assert_like_tarfile(data)
    assert [e[1] for e in both_ways(data)[0]] == [tarfile.DIRTYPE, tarfile.AREGTYPE]


def test_a_signed_checksum_is_good_too() -> None:
    """Old Sun and NeXT tars summed the header as signed bytes: tarfile takes either sum."""
    block = bytearray(v7_header("caf\u00e9", tarfile.AREGTYPE))
    block[148:156] = b" " * 8
    signed = sum(b - 256 if b > 127 else b for b in block)
    block[148:156] = b"%06o\0 " % signed
    data = bytes(block) + bytes(1024)
    assert_like_tarfile(data)


def test_a_tar_without_its_end_blocks_ends_after_its_last_entry() -> None:
    data = a_tar(tarfile.GNU_FORMAT, [info("a", data=b"x" * 600), info("b")])
    end = 512 + 1024 + 512
    assert_like_tarfile(data[:end])
    assert [e[0] for e in both_ways(data[:end])[1]] == ["a", "b"]


def test_the_listing_ends_at_the_first_zero_block() -> None:
    data = a_tar(tarfile.USTAR_FORMAT, [info("a", data=b"x")])
    data += a_tar(tarfile.USTAR_FORMAT, [info("after-the-end")])  # what follows the end is not read
    assert_like_tarfile(data)
    assert [e[0] for e in both_ways(data)[0]] == ["a"]


def test_an_entrys_bytes_read_in_pieces_and_at_random() -> None:
    payload = bytes(range(256)) * 30
    data = a_tar(tarfile.GNU_FORMAT, [info("f", data=payload), info("g", data=b"next")])
    e = next(read_entries(io.BytesIO(data)))
    assert e.seekable() and e.read(10) == payload[:10] and e.tell() == 10
    e.seek(-5, io.SEEK_END)
    assert e.read() == payload[-5:] and e.read() == b""
    e.seek(1000)
    assert e.read(3000) == payload[1000:4000]
    streamed = read_entries(io.BufferedReader(Trickle(data)), at_random=False)
    e = next(streamed)
    assert not e.seekable() and e.read(7) == payload[:7] and e.read(2000) == payload[7:2007]
    assert next(streamed).read() == b"next"  # the rest of f's bytes were passed over


def gnu_tar() -> str:
    tar = shutil.which("tar")
    if not tar or "GNU tar" not in subprocess.run([tar, "--version"], capture_output=True, text=True).stdout:
        pytest.skip("GNU tar is not installed: it is what writes sparse files")
    return tar


@pytest.mark.parametrize("how", [["--format=gnu"], ["--format=posix", "--sparse-version=0.0"],
                                 ["--format=posix", "--sparse-version=0.1"], ["--format=posix"]],
                         ids=["old-gnu", "pax-0.0", "pax-0.1", "pax-1.0"])
def test_sparse_files_of_gnu_tar(tmp_path: Path, how: list[str]) -> None:
    """Sparse files: their size is the file's, their bytes hold the holes as zeros (as tarfile reads them)."""
    tar = gnu_tar()
    with open(tmp_path / "holes", "wb") as f:
        for i in range(30):  # more pieces than an old GNU header holds: extension blocks too
            f.seek(i * 70_000)
            f.write(b"piece %d" % i)
        f.truncate(3_000_000)
    (tmp_path / "plain").write_bytes(b"after")
    out = tmp_path / "sparse.tar"
    subprocess.run([tar, "--sparse", *how, "-cf", str(out), "holes", "plain"], cwd=tmp_path, check=True)
    assert_like_tarfile(out.read_bytes())
    assert both_ways(out.read_bytes())[1][0][2] == 3_000_000


def test_a_cut_short_or_damaged_tar_is_an_error() -> None:
    data = a_tar(tarfile.USTAR_FORMAT, [info("a", data=b"x" * 700), info("b", data=b"y"), info("c")])
    b = 512 + 1024  # b's header: after a's, and a's 700 bytes in two blocks
    bad_sum = bytearray(data)
    bad_sum[b + 1] ^= 1  # a byte of b's name: its checksum no longer adds up
    not_a_number = bytearray(data)
    not_a_number[b + 124:b + 136] = b"12345678901x"  # b's size
    for damaged, why in [(data[:900], "unexpected end of data"),  # in a's bytes
                         (data[:b + 200], "truncated header"),  # in b's header
                         (data[:b + 512 + 1], "unexpected end of data"),  # in b's block of data
                         (bytes(bad_sum), "bad checksum"),
                         (bytes(not_a_number), "bad checksum|invalid header")]:
        for f in (io.BytesIO(damaged), io.BufferedReader(Trickle(damaged))):
            with pytest.raises(BadTar, match=why):
                listing(read_entries(f))


def test_a_damaged_gnu_long_name_is_an_error() -> None:
    data = a_tar(tarfile.GNU_FORMAT, [info("n" * 200, data=b"x")])
    assert data[156:157] == tarfile.GNUTYPE_LONGNAME
    for cut in (data[:512 + 512], data[:512 + 512 + 100]):  # the long name, then nothing or half a header
        with pytest.raises(BadTar):
            listing(read_entries(io.BytesIO(cut)))


@pytest.mark.parametrize("stream", [False, True], ids=["saved", "streamed"])
@pytest.mark.parametrize("gzipped", [False, True], ids=["tar", "gzip"])
def test_a_damaged_layer_is_the_kits_error(stream: bool, gzipped: bool) -> None:
    """A layer cut short, or with a header that is none, is the kit's error wherever the damage is."""
    good = layer(("a", "file", b"x" * 700), ("b", "file", b"y" * 10), ("etc/passwd", "file", b"root:x:0:0::/:/sh\n"))
    offsets = [m.offset for m in tarfile.open(fileobj=io.BytesIO(good))]
    bad_sum = bytearray(good)
    bad_sum[offsets[2] + 5] ^= 1  # the third header's name
    for broken in (good[:offsets[1] + 300], bytes(bad_sum)):  # mid-header; a bad checksum past the first header
        data = archive(broken)
        data = to_oci(data) if gzipped else data
        f = io.BufferedReader(Trickle(data, 1 << 16)) if stream else io.BytesIO(data)
        with pytest.raises(KitError, match=LAYER_ERROR):
            read_files(f)


def test_a_gzipped_layer_reads_as_its_tar() -> None:
    classic = archive(layer(*[(f"f{i}", "file", b"x" * i) for i in range(50)], ("etc/passwd", "file", b"root\n")))
    a, b = read_files(io.BytesIO(classic)), read_files(io.BytesIO(to_oci(classic)))
    assert a.layers[0].rows == b.layers[0].rows and a.small == b.small


@pytest.mark.parametrize("stream", [False, True], ids=["saved", "streamed"])
def test_a_gzipped_layer_cut_short_or_corrupt_is_the_kits_error(stream: bool) -> None:
    good = layer(*[(f"f{i}", "file", bytes(range(i, i + 200))) for i in range(40)])
    packed = gzip.compress(good, mtime=0)
    corrupt = bytearray(packed)
    corrupt[len(packed) // 2] ^= 0xFF
    for broken in (packed[:len(packed) // 2], bytes(corrupt)):
        data = archive(broken)  # a gzipped layer.tar: the classic layout may hold one too
        f = io.BufferedReader(Trickle(data, 1 << 16)) if stream else io.BytesIO(data)
        with pytest.raises(KitError, match=LAYER_ERROR):
            read_files(f)
