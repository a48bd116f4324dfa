"""A tar's entries, read fast: each header parsed for what a listing needs, each file's bytes skipped unless asked for.

Python's ``tarfile`` makes a full ``TarInfo`` of every header (a dozen fields, each through ``nts``/``nti``)
and reads a saved file a block at a time: for a layer of 20,000 entries that is most of the time the kit
takes to read an image. This reader gives the same fields, the same way, at a fraction of the cost:
- a file that can seek (a layer inside a saved archive) is read in windows of ``WINDOW`` bytes, each
  holding many headers (and the small files' bytes between them); a header outside the window costs one
  more read, and a large file's bytes are never read unless asked for;
- a stream (`docker save` from the engine, a gzipped layer) is read in chunks of ``CHUNK`` bytes, what is
  not needed read into one scratch buffer and dropped.

Every field comes out as ``tarfile`` (Python 3.11) gives it by default: names decoded as the file system
encoding with ``surrogateescape``; ustar's ``prefix``; GNU long names and link targets (``L``, ``K``) and old
sparse files (``S``); pax headers (``x``, ``g``: path, linkpath, size, uid, gid; ``mode`` is not a field
``tarfile`` reads from pax, so neither does this) and GNU's pax sparse formats 0.0, 0.1 and 1.0; v7 headers
(a folder as a regular file named ``.../``); base-256 numbers (GNU's, for sizes over 8 GiB and negative
ids); a signed-char checksum (old Sun and NeXT tars). A listing ends at the first zero block, or where the
data ends exactly at a header's start (a tar without its end blocks).

What differs from ``tarfile``: a damaged tar is an error (``BadTar``) wherever the damage is. ``tarfile``
raises only for the first header; at any later one (a bad checksum, a header cut short) it ends the
listing there without a word, so a cut-short layer looked complete. Fields a listing does not use
(mtime, user and group names, device numbers) are not parsed, so are not checked either.
"""

from __future__ import annotations

import io
import re
import struct
import sys
from collections.abc import Iterator
from typing import IO

BLOCK = 512
WINDOW = 64 << 10  # bytes read at once from a file that can seek: many headers of small files per read
CHUNK = 1 << 20  # bytes read at once from a stream
ENCODING = sys.getfilesystemencoding()  # tarfile's default encoding (its errors: "surrogateescape")
ERRORS = "surrogateescape"
ZERO_BLOCK = bytes(BLOCK)

REGTYPE, AREGTYPE, LNKTYPE, SYMTYPE, CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE, CONTTYPE = (
    b"0", b"\0", b"1", b"2", b"3", b"4", b"5", b"6", b"7")
LONGNAME, LONGLINK, SPARSE = b"L", b"K", b"S"  # GNU
PAX_ONE, PAX_GLOBAL, PAX_SOLARIS = b"x", b"g", b"X"
REGULAR_TYPES = (REGTYPE, AREGTYPE, CONTTYPE, SPARSE)  # a header followed by its data
SUPPORTED_TYPES = (*REGULAR_TYPES, LNKTYPE, SYMTYPE, DIRTYPE, FIFOTYPE, CHRTYPE, BLKTYPE, LONGNAME, LONGLINK)
GNU_TYPES = (LONGNAME, LONGLINK, SPARSE)  # their bytes 345-500 are no ustar prefix

# name, mode, uid, gid, size, (mtime), chksum, type, linkname, (magic ... devminor), prefix
_HEADER = struct.Struct("100s8s8s8s12s12x8sc100s88x155s")
_SIGNED = struct.Struct("148b8x356b")
# mode, uid, gid, size, (mtime), chksum as tarfile and Go's archive/tar write them: digits, a NUL (the checksum's: a
# NUL and a space). Read as _number reads them, for the cost of one match.
_OCTAL = re.compile(rb"([0-7]{7})\0([0-7]{7})\0([0-7]{7})\0([0-7]{11})\0.{12}([0-7]{6})\0 ", re.DOTALL)
_PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")
_PAX_CHARSET = re.compile(rb"\d+ hdrcharset=([^\n]+)\n")
_PAX_NAME_FIELDS = {"path", "linkpath", "uname", "gname"}


class BadTar(Exception):
    """A tar that cannot be read: cut short, or a header that is none (a bad checksum, a number that is not one)."""


def _blocks(n: int) -> int:
    """Return ``n`` bytes rounded up to whole blocks."""
    return (n + BLOCK - 1) // BLOCK * BLOCK


def _text(field: bytes) -> str:
    """Return a NUL-terminated field as text (tarfile's ``nts``)."""
    end = field.find(b"\0")
    return (field if end < 0 else field[:end]).decode(ENCODING, ERRORS)


def _number(field: bytes) -> int:
    """Return a number field as tarfile's ``nti`` reads it: octal text, or base-256 when its first byte says so."""
    if field[0] in (0o200, 0o377):
        n = int.from_bytes(field[1:], "big")
        return n - 256 ** (len(field) - 1) if field[0] == 0o377 else n
    end = field.find(b"\0")
    digits = field if end < 0 else field[:end]
    try:
        return int(digits, 8)  # the common case: digits, maybe spaces
    except ValueError:
        pass
    try:  # tarfile's own way (str.strip takes a few more characters than int does)
        return int(digits.decode("ascii").strip() or "0", 8)
    except ValueError:
        raise BadTar("invalid header") from None


class TarEntry:
    """One entry of a tar: the fields of tarfile's ``TarInfo`` a listing needs, and its bytes as a file.

    ``read``, ``seek`` and ``tell`` read the entry's bytes (a sparse file's with its holes as zeros). From a
    stream, only forward and only before the next entry is asked for; ``seekable()`` says which.
    """

    __slots__ = ("name", "type", "size", "mode", "uid", "gid", "linkname", "offset", "sparse", "_src", "_at")

    def __init__(self, name: str, type: bytes, size: int, mode: int, uid: int, gid: int, linkname: str,
                 offset: int, src: _Random | _Sequential) -> None:
        self.name, self.type, self.size, self.mode, self.uid, self.gid = name, type, size, mode, uid, gid
        self.linkname = linkname
        self.offset = offset  # where its data starts in the tar
        self.sparse: list[tuple[int, int]] | None = None  # a sparse file's (offset, bytes) pieces
        self._src = src
        self._at = 0

    def __repr__(self) -> str:
        return f"<TarEntry {self.name!r} {self.type!r} {self.size}>"

    def seekable(self) -> bool:
        """Say whether its bytes can be read in any order (the tar is a file that can seek)."""
        return isinstance(self._src, _Random)

    def tell(self) -> int:
        """Return where the next read starts."""
        return self._at

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move where the next read starts (clamped to the entry, as tarfile's file objects do); return it."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._at, io.SEEK_END: self.size}[whence]
        self._at = min(max(base + offset, 0), self.size)
        return self._at

    def read(self, n: int = -1) -> bytes:
        """Return up to ``n`` of its bytes (all that are left if ``n`` < 0)."""
        n = self.size - self._at if n < 0 else min(n, self.size - self._at)
        if n <= 0:
            return b""
        if self.sparse is None:
            data = self._src.read_at(self.offset + self._at, n)
        else:
            data = self._read_sparse(self._at, n)
        self._at += n
        return data

    def _read_sparse(self, start: int, n: int) -> bytes:
        """Return ``n`` bytes from ``start`` of a sparse file: its stored pieces in place, zeros between."""
        out = bytearray(n)
        stored = self.offset
        for at, length in self.sparse or ():
            lo, hi = max(at, start), min(at + length, start + n)
            if lo < hi:
                out[lo - start:hi - start] = self._src.read_at(stored + lo - at, hi - lo)
            stored += length
        return bytes(out)


class _Buffered:
    """What both sources share: bytes already read (``buf``), starting at ``base`` in the tar."""

    buf: bytes
    base: int

    def _held(self, pos: int, n: int) -> bytes | None:
        """Return the ``n`` bytes at ``pos`` if they were read already, else None."""
        i = pos - self.base
        return self.buf[i:i + n] if 0 <= i and i + n <= len(self.buf) else None

    def _fetch(self, pos: int, n: int) -> bytes:
        """Return up to ``n`` bytes at ``pos`` that are not held: each source reads them its own way."""
        raise NotImplementedError

    def read_at(self, pos: int, n: int) -> bytes:
        """Return the ``n`` bytes at ``pos``: held already, or fetched."""
        held = self._held(pos, n)
        if held is not None:
            return held
        data = self._fetch(pos, n)
        if len(data) < n:
            raise BadTar("unexpected end of data")
        return data


class _Random(_Buffered):
    """A tar in a file that can seek, read in windows: most headers come from memory already read."""

    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.end = f.seek(0, io.SEEK_END)
        self.buf, self.base = b"", 0  # the window, and where it starts in the tar

    def _fetch(self, pos: int, n: int) -> bytes:
        self.f.seek(pos)  # a file's bytes past the window: read as they are, the window kept for the next header
        return self.f.read(n)

    def header_at(self, pos: int) -> bytes:
        """Return the block at ``pos``, b"" where the tar ends exactly there."""
        held = self._held(pos, BLOCK)
        if held is not None:
            return held
        if pos >= self.end:
            if pos > self.end:  # the last file's bytes are cut short
                raise BadTar("unexpected end of data")
            return b""
        if pos + BLOCK > self.end:
            raise BadTar("truncated header")
        self.f.seek(pos)
        self.buf, self.base = self.f.read(min(WINDOW, self.end - pos)), pos
        if len(self.buf) < BLOCK:
            raise BadTar("unexpected end of data")
        return self.buf[:BLOCK]


class _Sequential(_Buffered):
    """A tar in a stream, read forward in chunks: what is not needed is read into one scratch buffer, and dropped."""

    def __init__(self, f: IO[bytes], head: bytes) -> None:
        self.f = f
        self.buf, self.base = head, 0  # bytes read and not yet passed, and where they start in the tar
        self.scratch: memoryview | None = None

    def _skip(self, n: int) -> bool:
        """Read past ``n`` bytes of the stream; say whether there were that many."""
        if self.scratch is None:
            self.scratch = memoryview(bytearray(CHUNK))
        readinto = getattr(self.f, "readinto", None)
        while n > 0:
            k = min(n, CHUNK)
            got = readinto(self.scratch[:k]) if readinto else len(self.f.read(k))
            if not got:
                return False
            n -= got
        return True

    def _fill(self, pos: int, n: int) -> bytes:
        """Return ``n`` bytes from ``pos`` (at or past what was read), as many as there are before the end."""
        i = pos - self.base
        if i < 0:
            raise ValueError("a tar read as a stream cannot go back")
        if i >= len(self.buf):
            if not self._skip(i - len(self.buf)):
                raise BadTar("unexpected end of data")
            parts, have = [], 0
        else:
            parts, have = [self.buf[i:]], len(self.buf) - i
        while have < n:
            data = self.f.read(max(CHUNK, n - have))
            if not data:
                break
            parts.append(data)
            have += len(data)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if n >= CHUNK:  # a large file's bytes: handed over, not kept
            self.buf, self.base = data[n:], pos + n
            return data[:n] if len(data) > n else data
        self.buf, self.base = data, pos
        return data[:n]

    def _fetch(self, pos: int, n: int) -> bytes:
        return self._fill(pos, n)  # at or past what was read: the bytes before it are passed over

    def header_at(self, pos: int) -> bytes:
        """Return the block at ``pos``, b"" where the tar ends exactly there."""
        held = self._held(pos, BLOCK)
        if held is not None:
            return held
        data = self._fill(pos, BLOCK)
        if data and len(data) < BLOCK:
            raise BadTar("truncated header")
        return data


def read_entries(f: IO[bytes], head: bytes = b"", at_random: bool | None = None) -> Iterator[TarEntry]:
    """Yield the entries of the uncompressed tar in ``f``, as tarfile lists them (see the module's notes).

    ``head``: the tar's first bytes, already read from a stream ``f`` (which goes on after them). A file that
    can seek (``at_random``, by default ``f.seekable()``) is read from its offset 0 at random, ``head`` unused.
    An entry's bytes can be read (``TarEntry.read``) until the next entry is asked for.
    Raises ``BadTar`` for a tar that is cut short or damaged.
    """
    if at_random is None:
        try:
            at_random = bool(f.seekable())
        except (AttributeError, OSError, ValueError):
            at_random = False
    src: _Random | _Sequential = _Random(f) if at_random else _Sequential(f, head)
    pax_global: dict[str, str] = {}
    pos = 0
    while True:
        block = src.header_at(pos)
        if not block or block == ZERO_BLOCK:
            return
        entry, pos = _member(src, pos, block, pax_global)
        yield entry


def _header(src: _Random | _Sequential, pos: int, block: bytes) -> TarEntry:
    """Return the entry one header block makes by itself (tarfile's ``TarInfo.frombuf``)."""
    name_f, mode, uid, gid, size, chksum, type, link_f, prefix_f = _HEADER.unpack_from(block)
    octal = _OCTAL.match(block, 100)
    if octal is not None:  # the common case: every number as zero-padded digits, at a quarter of _number's cost
        mode, uid, gid, size, declared = [int(x, 8) for x in octal.groups()]
    else:
        declared = _number(chksum)
        mode, uid, gid, size = _number(mode), _number(uid), _number(gid), _number(size)
    # The checksum is the sum of the header's bytes with its own field as spaces; summing only the bytes
    # that are not NUL (most of a header) is a third of the cost.
    if declared != 256 + sum(block.translate(None, b"\0")) - sum(chksum) \
            and declared != 256 + sum(_SIGNED.unpack(block)):
        raise BadTar("bad checksum")
    name = _text(name_f)
    if type == AREGTYPE and name.endswith("/"):  # v7: a folder is a regular file named "name/"
        type = DIRTYPE
    e = TarEntry(name, type, size, mode, uid, gid, _text(link_f) if link_f[0] else "", pos + BLOCK, src)
    if type == DIRTYPE:
        e.name = e.name.rstrip("/")
    if prefix_f[0] and type not in GNU_TYPES:  # ustar: a long name's folders
        e.name = _text(prefix_f) + "/" + e.name
    return e


def _next_header(src: _Random | _Sequential, pos: int) -> bytes:
    """Return the header a GNU long name or a pax header applies to: it must be there."""
    block = src.header_at(pos)
    if len(block) < BLOCK:
        raise BadTar("empty header" if not block else "truncated header")
    if block == ZERO_BLOCK:
        raise BadTar("end of file header")
    return block


def _member(src: _Random | _Sequential, pos: int, block: bytes, pax_global: dict[str, str]) -> tuple[TarEntry, int]:
    """Return the entry whose (first) header is at ``pos`` and where the next header is (tarfile's ``_proc_member``)."""
    e = _header(src, pos, block)
    if e.type in (LONGNAME, LONGLINK):
        start = e.offset + _blocks(e.size)
        data = src.read_at(e.offset, start - e.offset)
        nxt, end = _member(src, start, _next_header(src, start), pax_global)
        if e.type == LONGNAME:
            nxt.name = _text(data)
        else:
            nxt.linkname = _text(data)
        if nxt.type == DIRTYPE:
            nxt.name = nxt.name.removesuffix("/")
        return nxt, end
    if e.type in (PAX_ONE, PAX_GLOBAL, PAX_SOLARIS):
        return _pax(src, e, pax_global)
    if e.type == SPARSE:
        return _old_sparse(src, e, block)
    end = e.offset + (_blocks(e.size) if e.type in REGULAR_TYPES or e.type not in SUPPORTED_TYPES else 0)
    if pax_global:
        _apply_pax(e, pax_global)
    if e.type == DIRTYPE:
        e.name = e.name.rstrip("/")
    return e, end


def _old_sparse(src: _Random | _Sequential, e: TarEntry, block: bytes) -> tuple[TarEntry, int]:
    """Read an old GNU sparse file's map (tarfile's ``_proc_sparse``): four pieces in its header, 21 in each
    extension block after it; return the entry, its size the file's, and where the next header is."""
    pieces = [(_number(block[p:p + 12]), _number(block[p + 12:p + 24])) for p in range(386, 482, 24)]
    real_size = _number(block[483:495])
    more, at = block[482], e.offset
    while more:
        ext = src.read_at(at, BLOCK)
        at += BLOCK
        for p in range(0, 504, 24):
            piece = (_number(ext[p:p + 12]), _number(ext[p + 12:p + 24]))
            if piece[0] and piece[1]:
                pieces.append(piece)
        more = ext[504]
    stored = e.size
    e.offset, e.size, e.sparse = at, real_size, pieces
    return e, at + _blocks(stored)


def _pax(src: _Random | _Sequential, e: TarEntry, pax_global: dict[str, str]) -> tuple[TarEntry, int]:
    """Read a pax header (tarfile's ``_proc_pax``); return the entry it applies to and where the next header is."""
    buf = src.read_at(e.offset, _blocks(e.size))
    headers = pax_global if e.type == PAX_GLOBAL else dict(pax_global)
    match = _PAX_CHARSET.search(buf)
    if match is not None:
        headers["hdrcharset"] = match.group(1).decode("utf-8")
    encoding = ENCODING if headers.get("hdrcharset") == "BINARY" else "utf-8"
    at = 0
    while match := _PAX_RECORD.match(buf, at):
        length, keyword = int(match.group(1)), match.group(2)
        if length == 0:
            raise BadTar("invalid header")
        value = buf[match.end(2) + 1:match.start(1) + length - 1]
        key = _pax_text(keyword, "utf-8", "utf-8")
        headers[key] = _pax_text(value, encoding, ENCODING) if key in _PAX_NAME_FIELDS else \
            _pax_text(value, "utf-8", "utf-8")
        at += length
    start = e.offset + _blocks(e.size)
    nxt, end = _member(src, start, _next_header(src, start), pax_global)
    try:
        if "GNU.sparse.map" in headers:  # GNU sparse 0.1
            numbers = [int(x) for x in headers["GNU.sparse.map"].split(",")]
            nxt.sparse = list(zip(numbers[::2], numbers[1::2]))
        elif "GNU.sparse.size" in headers:  # GNU sparse 0.0
            offsets = [int(m.group(1)) for m in re.finditer(rb"\d+ GNU.sparse.offset=(\d+)\n", buf)]
            sizes = [int(m.group(1)) for m in re.finditer(rb"\d+ GNU.sparse.numbytes=(\d+)\n", buf)]
            nxt.sparse = list(zip(offsets, sizes))
        elif headers.get("GNU.sparse.major") == "1" and headers.get("GNU.sparse.minor") == "0":
            _sparse_10(src, nxt)
    except ValueError as err:
        raise BadTar(f"invalid GNU sparse header: {err}") from None
    if e.type in (PAX_ONE, PAX_SOLARIS):
        _apply_pax(nxt, headers)
        if "size" in headers:  # its size as pax gives it: the next header is after that many bytes
            regular = nxt.type in REGULAR_TYPES or nxt.type not in SUPPORTED_TYPES
            end = nxt.offset + (_blocks(nxt.size) if regular else 0)
    return nxt, end


def _sparse_10(src: _Random | _Sequential, e: TarEntry) -> None:
    """Read GNU sparse 1.0's map: a count, then offset and size of each piece, a number a line, before the data."""
    at = e.offset
    buf = src.read_at(at, BLOCK)
    at += BLOCK
    count, buf = buf.split(b"\n", 1)
    numbers: list[int] = []
    while len(numbers) < int(count) * 2:
        if b"\n" not in buf:
            buf += src.read_at(at, BLOCK)
            at += BLOCK
        number, buf = buf.split(b"\n", 1)
        numbers.append(int(number))
    e.offset = at
    e.sparse = list(zip(numbers[::2], numbers[1::2]))


def _pax_text(value: bytes, encoding: str, fallback: str) -> str:
    """Decode a pax record's keyword or value: strictly, else as ``fallback`` with ``surrogateescape``."""
    try:
        return value.decode(encoding, "strict")
    except UnicodeDecodeError:
        return value.decode(fallback, ERRORS)


def _apply_pax(e: TarEntry, headers: dict[str, str]) -> None:
    """Put a pax header's fields in an entry, in the header's order (tarfile's ``_apply_pax_info``)."""
    try:
        for keyword, value in headers.items():
            if keyword == "GNU.sparse.name":
                e.name = value
            elif keyword in ("GNU.sparse.size", "GNU.sparse.realsize"):
                e.size = int(value)
            elif keyword == "path":
                e.name = value.rstrip("/")
            elif keyword == "linkpath":
                e.linkname = value
            elif keyword in ("size", "uid", "gid"):
                try:
                    number = int(value)
                except ValueError:
                    number = 0
                setattr(e, keyword, number)
    except ValueError as err:  # a GNU sparse size that is no number
        raise BadTar(f"invalid pax header: {err}") from None
