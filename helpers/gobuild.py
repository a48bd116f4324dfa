"""The Go build info of a Go binary held in memory: its Go version, main module and build settings.

A Go binary (Go 1.13 on) carries a build-info blob that starts with the magic ``\\xff Go buildinf:``
(Go's ``src/debug/buildinfo/buildinfo.go``); the reader looks for that magic before anything else.
The blob itself is read by ``pygorpmrustinfo`` (PyPI), which wraps Go's own ``debug/buildinfo``, so
every format Go has written is read the way Go reads it. It takes a file name, so the bytes go into an
in-memory file (``memfd_create`` on Linux), else into a temporary file that is removed at once.
"""

from __future__ import annotations

import os
import tempfile

GO_MAGIC = b"\xff Go buildinf:"
EXECUTABLE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")  # ELF, PE, Mach-O 64/32


def is_executable(head: bytes) -> bool:
    """Say whether a file's first bytes are those of an executable format a Go binary can have."""
    return head.startswith(EXECUTABLE_MAGICS)


def is_go_binary(data: bytes) -> bool:
    """Say whether an executable's bytes hold Go's build-info magic."""
    return is_executable(data[:4]) and GO_MAGIC in data


def build_info(data: bytes) -> dict:
    """Return a Go binary's build info: ``go`` (version), ``path``, ``main``, ``settings`` (dict), or ``error``."""
    import pygorpmrustinfo  # loads a Go runtime: only when a Go binary is found

    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("go-binary")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            raw = pygorpmrustinfo.get_go_build_info(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    else:
        with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
            f.write(data)
        try:
            raw = pygorpmrustinfo.get_go_build_info(f.name)
        finally:
            os.unlink(f.name)
    if "error" in raw:
        return {"error": str(raw["error"])}
    main = raw.get("Main") or {}
    return {
        "go": raw.get("GoVersion", ""),
        "path": raw.get("Path", ""),
        "main": " ".join(x for x in (main.get("Path", ""), main.get("Version", "")) if x),
        "settings": {s.get("Key", ""): s.get("Value", "") for s in raw.get("Settings") or []},
    }
