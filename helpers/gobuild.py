"""The Go build info of a Go binary: its Go version, main module and build settings.

A Go binary (Go 1.13 on) carries a build-info blob that starts with the magic ``\\xff Go buildinf:``
(Go's ``src/debug/buildinfo/buildinfo.go``); the reader looks for that magic before anything else.
The blob itself is read by ``pygorpmrustinfo`` (PyPI), which wraps Go's own ``debug/buildinfo``, so
every format Go has written is read the way Go reads it. It takes a file name, so the bytes go into an
in-memory file (``memfd_create`` on Linux), else into a temporary file that is removed at once.

An ELF binary that can be read at any offset (a file in a saved archive) is not read whole: its
section headers say where ``.go.buildinfo`` is, and the in-memory file gets only what Go's reader
looks at (the ELF and program headers, the section headers and their names, and the first 64 kB of
``.go.buildinfo``), at their own offsets, the rest a hole. Go 1.18 on writes the version and module
inside that section; an older binary's blob points elsewhere, so it is then read whole.
"""

from __future__ import annotations

import os
import struct
import tempfile
from typing import IO

GO_MAGIC = b"\xff Go buildinf:"
EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")  # ELF, PE, Mach-O 64/32
BUILDINFO_SECTION = b".go.buildinfo"
BUILDINFO_READ = 64 << 10  # what Go's debug/buildinfo reads from the section's start
BUILDINFO_ALIGN = 16
FLAG_VERSION_INLINE = 0x2  # Go 1.18 on: version and module strings follow the header
SHF_COMPRESSED = 0x800
MAX_SECTIONS = 1 << 16

Piece = tuple[int, bytes]  # (offset in the file, bytes)


def is_executable(head: bytes) -> bool:
    """Say whether a file's first bytes are those of an executable format a Go binary can have."""
    return head.startswith(EXECUTABLE_MAGICS)


def is_go_binary(data: bytes) -> bool:
    """Say whether an executable's bytes hold Go's build-info magic."""
    return is_executable(data[:4]) and GO_MAGIC in data


def _read_at(f: IO[bytes], offset: int, n: int) -> bytes:
    f.seek(offset)
    return f.read(n)


def _magic_at(data: bytes) -> int:
    """Return where Go's reader finds the magic in the section's bytes (16-byte aligned), -1 if nowhere."""
    i = data.find(GO_MAGIC)
    while i >= 0 and i % BUILDINFO_ALIGN:
        i = data.find(GO_MAGIC, i + 1)
    return i


def elf_pieces(f: IO[bytes], size: int) -> list[Piece] | None:
    """Return the pieces of an ELF file Go's build-info reader looks at, read through a seekable ``f``.

    [] means an ELF without ``.go.buildinfo`` (or without its magic): not a Go binary Go's reader knows.
    None means this cannot tell (no section headers, an older Go's pointer format, not ELF): read it whole.
    """
    head = _read_at(f, 0, 64)
    if len(head) < 52 or not head.startswith(b"\x7fELF") or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    end = "<" if head[5] == 1 else ">"
    if head[4] == 2:  # 64-bit
        phoff, shoff = struct.unpack_from(end + "QQ", head, 32)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(end + "HHHHH", head, 54)
        shdr, fields = end + "IIQQQQIIQQ", (4, 5, 2)  # sh_offset, sh_size, sh_flags
    else:
        phoff, shoff = struct.unpack_from(end + "II", head, 28)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(end + "HHHHH", head, 42)
        shdr, fields = end + "IIIIIIIIII", (4, 5, 2)
    if not shoff or not 0 < shnum < MAX_SECTIONS or shstrndx >= shnum or shentsize < struct.calcsize(shdr) \
            or shoff + shnum * shentsize > size:
        return None
    table = _read_at(f, shoff, shnum * shentsize)
    sections = [struct.unpack_from(shdr, table, i * shentsize) for i in range(shnum)]
    names_at, names_size = sections[shstrndx][fields[0]], sections[shstrndx][fields[1]]
    names = _read_at(f, names_at, min(names_size, 1 << 20))
    pieces: list[Piece] = [(0, _read_at(f, 0, max(64, phoff + phnum * phentsize))), (shoff, table), (names_at, names)]
    found = None
    for s in sections:
        name_end = names.find(b"\0", s[0])
        if names[s[0]:name_end] == BUILDINFO_SECTION:
            found = s
        if s[fields[2]] & SHF_COMPRESSED and s[fields[0]] < size:  # Go's elf.NewFile reads each one's header
            pieces.append((s[fields[0]], _read_at(f, s[fields[0]], 64)))
    if found is None:
        return []
    data = _read_at(f, found[fields[0]], min(BUILDINFO_READ, size - found[fields[0]]))
    i = _magic_at(data)
    if i < 0:
        return []
    if len(data) < i + 16 or not data[i + 15] & FLAG_VERSION_INLINE:
        return None
    return [*pieces, (found[fields[0]], data)]


def _in_memory_file(pieces: list[Piece], size: int) -> int:
    """Return a file descriptor of an in-memory file of ``size`` bytes holding the pieces at their offsets."""
    fd = os.memfd_create("go-binary")
    os.ftruncate(fd, size)
    for offset, data in pieces:
        view = memoryview(data)
        while view:
            n = os.pwrite(fd, view, offset)
            view, offset = view[n:], offset + n
    return fd


def _from_pieces(pieces: list[Piece], size: int) -> dict:
    import pygorpmrustinfo  # loads a Go runtime: only when a Go binary is found

    if hasattr(os, "memfd_create"):
        fd = _in_memory_file(pieces, size)
        try:
            return _decoded(pygorpmrustinfo.get_go_build_info(f"/proc/self/fd/{fd}"))
        finally:
            os.close(fd)
    with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
        f.truncate(size)
        for offset, data in pieces:
            f.seek(offset)
            f.write(data)
    try:
        return _decoded(pygorpmrustinfo.get_go_build_info(f.name))
    finally:
        os.unlink(f.name)


def build_info(data: bytes) -> dict:
    """Return a Go binary's build info: ``go`` (version), ``path``, ``main``, ``settings`` (dict), or ``error``."""
    return _from_pieces([(0, data)], len(data))


def build_info_from(f: IO[bytes], size: int) -> dict | None:
    """Return the build info of the executable a seekable ``f`` holds (``size`` bytes), None if it is no Go binary.

    An ELF binary is read in pieces (``elf_pieces``); any other, or an ELF that cannot be read so, whole.
    """
    pieces = elf_pieces(f, size)
    if pieces == []:
        return None
    if pieces is None:
        data = _read_at(f, 0, size)
        return build_info(data) if GO_MAGIC in data else None
    return _from_pieces(pieces, size)


def _decoded(raw: dict) -> dict:
    """Turn Go's BuildInfo (as the library gives it) into the kit's fields."""
    if "error" in raw:
        return {"error": str(raw["error"])}
    main = raw.get("Main") or {}
    return {
        "go": raw.get("GoVersion", ""),
        "path": raw.get("Path", ""),
        "main": " ".join(x for x in (main.get("Path", ""), main.get("Version", "")) if x),
        "settings": {s.get("Key", ""): s.get("Value", "") for s in raw.get("Settings") or []},
    }
