"""An image's attack surface, read offline from its archive: what an intruder would find to use.

From the final file tree and a few small files read while streaming (``inside.SMALL_FILES``): shells,
package managers, setuid/setgid files, the installed OS packages (dpkg's ``status``, distroless'
``status.d/``, apk's ``installed``), the users, and the Go build info of Go binaries; from the
config: the user the image runs as and its exposed ports. A program is found as a shell would find
it: in the PATH's folders, following symlinks (``/bin`` is a symlink to ``usr/bin`` on merged-/usr
systems) and hard links (busybox's applets).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .inside import GO_COLUMNS, ImageFiles, frame

if TYPE_CHECKING:
    import pandas as pd

PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
SHELLS = ("sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox")
PACKAGE_MANAGERS = ("apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "pip", "pip3", "npm")
MAX_HOPS = 40  # symlinks followed before giving up, as Linux does


PROGRAM_COLUMNS = ["name", "path", "resolves_to"]
SETUID_COLUMNS = ["path", "mode", "bits", "uid", "gid"]
PACKAGE_COLUMNS = ["manager", "package", "version", "architecture"]
USER_COLUMNS = ["name", "uid", "gid", "home", "shell"]


@dataclass
class Surface:
    """What an image offers an intruder, each part as rows (its table, a DataFrame, on first use)."""

    shell_rows: list[tuple]  # PROGRAM_COLUMNS
    package_manager_rows: list[tuple]  # PROGRAM_COLUMNS
    setuid_rows: list[tuple]  # SETUID_COLUMNS: mode as octal text, bits "setuid", "setgid" or both
    package_rows: list[tuple]  # PACKAGE_COLUMNS
    user_rows: list[tuple]  # USER_COLUMNS
    go_rows: list[tuple]  # inside.GO_COLUMNS
    user: str  # the configured User ("" means root)
    ports: list[str] = field(default_factory=list)  # ExposedPorts, e.g. "8080/tcp"
    os_release: str = ""  # PRETTY_NAME of os-release, "" when there is none

    @property
    def runs_as_root(self) -> bool:
        """Say whether a container of this image runs as root unless told otherwise."""
        return self.user.split(":")[0] in ("", "root", "0")

    @property
    def shells(self) -> pd.DataFrame:
        """Return the shells a PATH lookup finds: name, path, resolves_to."""
        return frame(self.shell_rows, PROGRAM_COLUMNS)

    @property
    def package_managers(self) -> pd.DataFrame:
        """Return the package managers a PATH lookup finds: name, path, resolves_to."""
        return frame(self.package_manager_rows, PROGRAM_COLUMNS)

    @property
    def setuid(self) -> pd.DataFrame:
        """Return the setuid/setgid files: path, mode, bits, uid, gid."""
        return frame(self.setuid_rows, SETUID_COLUMNS)

    @property
    def packages(self) -> pd.DataFrame:
        """Return the installed OS packages: manager, package, version, architecture."""
        return frame(self.package_rows, PACKAGE_COLUMNS)

    @property
    def users(self) -> pd.DataFrame:
        """Return /etc/passwd's users: name, uid, gid, home, shell."""
        return frame(self.user_rows, USER_COLUMNS)

    @property
    def go_binaries(self) -> pd.DataFrame:
        """Return the Go binaries and their build info (inside.GO_COLUMNS)."""
        return frame(self.go_rows, GO_COLUMNS)


def resolve(tree: dict[str, tuple[str, str]], path: str, hops: int = 0) -> str | None:
    """Return where a path leads in the final tree (symlinks and hard links followed), None if nowhere."""
    parts = [p for p in path.split("/") if p]
    here = "/"
    for i, part in enumerate(parts):
        step = posixpath.join(here, part)
        if step not in tree:
            return None
        kind, link = tree[step]
        if kind in ("symlink", "hardlink"):
            if hops >= MAX_HOPS:
                return None
            target = "/" + link.lstrip("/") if kind == "hardlink" or link.startswith("/") else posixpath.join(here, link)
            rest = "/".join(parts[i + 1:])
            return resolve(tree, posixpath.normpath(posixpath.join(target, rest) if rest else target), hops + 1)
        here = step
    return here


def _programs(tree: dict[str, tuple[str, str]], names: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Find each program as a shell would: the first PATH folder where it leads to a file."""
    rows = []
    for name in names:
        for folder in PATH_DIRS:
            to = resolve(tree, f"{folder}/{name}")
            if to is not None and tree[to][0] == "file":
                rows.append((name, f"{folder}/{name}", to))
                break
    return rows


def _stanzas(text: str) -> list[dict[str, str]]:
    """Read Debian control stanzas (dpkg's status): ``Field: value`` lines, blank lines between."""
    out, cur, last = [], {}, ""
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
            cur, last = {}, ""
        elif line[0] in " \t":
            cur[last] = cur.get(last, "") + "\n" + line.strip()  # a continued field (Description, Conffiles)
        elif ":" in line:
            last, _, value = line.partition(":")
            cur[last] = value.strip()
    if cur:
        out.append(cur)
    return out


def _apk(text: str) -> list[tuple[str, str, str, str]]:
    rows, cur = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if "P" in cur:
                rows.append(("apk", cur["P"], cur.get("V", ""), cur.get("A", "")))
            cur = {}
        elif line[1:2] == ":":
            cur[line[0]] = line[2:]
    return rows


def package_rows(image: ImageFiles) -> list[tuple[str, str, str, str]]:
    """Return the installed OS packages: dpkg's status, distroless' status.d/ files, apk's database."""
    rows = []
    for path, data in sorted(image.small.items()):
        text = data.decode("utf-8", "replace")
        if path == "/var/lib/dpkg/status" or path.startswith("/var/lib/dpkg/status.d/") and not path.endswith(".md5sums"):
            for s in _stanzas(text):
                if "Package" in s and s.get("Status", "install ok installed").endswith(" installed"):
                    rows.append(("dpkg", s["Package"], s.get("Version", ""), s.get("Architecture", "")))
        elif path == "/lib/apk/db/installed":
            rows += _apk(text)
    return list(dict.fromkeys(rows))


def packages(image: ImageFiles) -> pd.DataFrame:
    """Return the installed OS packages as a table: manager, package, version, architecture."""
    return frame(package_rows(image), PACKAGE_COLUMNS)


def user_rows(image: ImageFiles) -> list[tuple[str, int, int, str, str]]:
    """Return /etc/passwd's users: name, uid, gid, home, shell."""
    rows = []
    for line in image.small.get("/etc/passwd", b"").decode("utf-8", "replace").splitlines():
        f = line.split(":")
        if len(f) >= 7 and f[2].isdigit():
            rows.append((f[0], int(f[2]), int(f[3]) if f[3].isdigit() else -1, f[5], f[6]))
    return rows


def users(image: ImageFiles) -> pd.DataFrame:
    """Return /etc/passwd's users as a table: name, uid, gid, home, shell."""
    return frame(user_rows(image), USER_COLUMNS)


def _os_release(image: ImageFiles) -> str:
    data = image.small.get("/etc/os-release") or image.small.get("/usr/lib/os-release") or b""
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return ""


def attack_surface(image: ImageFiles) -> Surface:
    """Read an image's attack surface from what ``inside.read_files`` found."""
    links = {path: (kind, link) for path, kind, _size, _mode, _uid, _gid, link, *_ in image.tree_rows}
    setuid = []
    for path, kind, _size, mode, uid, gid, *_ in image.tree_rows:
        if kind == "file" and mode & 0o6000:
            bits = "setuid+setgid" if mode & 0o6000 == 0o6000 else "setuid" if mode & 0o4000 else "setgid"
            setuid.append((path, f"{mode:04o}", bits, uid, gid))
    config = image.config.get("config") or {}
    return Surface(_programs(links, SHELLS), _programs(links, PACKAGE_MANAGERS), setuid, package_rows(image),
                   user_rows(image), image.go_rows, str(config.get("User") or ""),
                   sorted(config.get("ExposedPorts") or {}), _os_release(image))


def surface_rows(s: Surface) -> list[tuple[str, int, str]]:
    """Summarise an attack surface: one row per aspect (what, count, which)."""

    def names(values: list[str], limit: int = 6) -> str:
        return ", ".join(values[:limit]) + (f", ... ({len(values)})" if len(values) > limit else "")

    go = {f"{r[2]} CGO_ENABLED={r[5] or '?'}" for r in s.go_rows}
    return [("shells", len(s.shell_rows), names([r[1] for r in s.shell_rows])),
            ("package managers", len(s.package_manager_rows), names([r[1] for r in s.package_manager_rows])),
            ("setuid/setgid files", len(s.setuid_rows), names([r[0] for r in s.setuid_rows])),
            ("OS packages", len(s.package_rows), names(sorted({r[0] for r in s.package_rows}))),
            ("users", len(s.user_rows), names([r[0] for r in s.user_rows])),
            ("runs as root", int(s.runs_as_root), s.user or "no USER: root"),
            ("exposed ports", len(s.ports), names(s.ports)),
            ("Go binaries", len(s.go_rows), names(sorted(go))),
            ("OS", int(bool(s.os_release)), s.os_release)]


def surface_table(s: Surface) -> pd.DataFrame:
    """Summarise an attack surface: one row per aspect, how many, and which."""
    return frame(surface_rows(s), ["what", "count", "which"])
