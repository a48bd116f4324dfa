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

import pandas as pd

from .inside import ImageFiles

PATH_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
SHELLS = ("sh", "bash", "ash", "dash", "zsh", "ksh", "mksh", "busybox")
PACKAGE_MANAGERS = ("apt", "apt-get", "dpkg", "apk", "yum", "dnf", "microdnf", "rpm", "pip", "pip3", "npm")
MAX_HOPS = 40  # symlinks followed before giving up, as Linux does


@dataclass
class Surface:
    """What an image offers an intruder, each part a table (empty when there is none)."""

    shells: pd.DataFrame  # name, path, resolves_to
    package_managers: pd.DataFrame  # name, path, resolves_to
    setuid: pd.DataFrame  # path, mode (octal text), bits ("setuid", "setgid", both), uid, gid
    packages: pd.DataFrame  # manager, package, version, architecture
    users: pd.DataFrame  # name, uid, gid, home, shell
    go_binaries: pd.DataFrame  # inside.GO_COLUMNS
    user: str  # the configured User ("" means root)
    ports: list[str] = field(default_factory=list)  # ExposedPorts, e.g. "8080/tcp"
    os_release: str = ""  # PRETTY_NAME of os-release, "" when there is none

    @property
    def runs_as_root(self) -> bool:
        """Say whether a container of this image runs as root unless told otherwise."""
        return self.user.split(":")[0] in ("", "root", "0")


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


def _programs(tree: dict[str, tuple[str, str]], names: tuple[str, ...]) -> pd.DataFrame:
    """Find each program as a shell would: the first PATH folder where it leads to a file."""
    rows = []
    for name in names:
        for folder in PATH_DIRS:
            to = resolve(tree, f"{folder}/{name}")
            if to is not None and tree[to][0] == "file":
                rows.append((name, f"{folder}/{name}", to))
                break
    return pd.DataFrame(rows, columns=["name", "path", "resolves_to"])


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


def packages(image: ImageFiles) -> pd.DataFrame:
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
    return pd.DataFrame(rows, columns=["manager", "package", "version", "architecture"]).drop_duplicates(ignore_index=True)


def users(image: ImageFiles) -> pd.DataFrame:
    """Return /etc/passwd's users: name, uid, gid, home, shell."""
    rows = []
    for line in image.small.get("/etc/passwd", b"").decode("utf-8", "replace").splitlines():
        f = line.split(":")
        if len(f) >= 7 and f[2].isdigit():
            rows.append((f[0], int(f[2]), int(f[3]) if f[3].isdigit() else -1, f[5], f[6]))
    return pd.DataFrame(rows, columns=["name", "uid", "gid", "home", "shell"])


def _os_release(image: ImageFiles) -> str:
    data = image.small.get("/etc/os-release") or image.small.get("/usr/lib/os-release") or b""
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.partition("=")[2].strip().strip('"')
    return ""


def attack_surface(image: ImageFiles) -> Surface:
    """Read an image's attack surface from what ``inside.read_files`` found."""
    t = image.tree
    links = dict(zip(t["path"], zip(t["kind"], t["linkname"])))
    special = t[(t["kind"] == "file") & (t["mode"] & 0o6000 != 0)]
    bits = ["setuid+setgid" if m & 0o6000 == 0o6000 else "setuid" if m & 0o4000 else "setgid" for m in special["mode"]]
    setuid = pd.DataFrame({"path": special["path"], "mode": [f"{m:04o}" for m in special["mode"]], "bits": bits,
                           "uid": special["uid"], "gid": special["gid"]}).reset_index(drop=True)
    config = image.config.get("config") or {}
    return Surface(_programs(links, SHELLS), _programs(links, PACKAGE_MANAGERS), setuid, packages(image), users(image),
                   image.go_binaries, str(config.get("User") or ""), sorted(config.get("ExposedPorts") or {}),
                   _os_release(image))


def surface_table(s: Surface) -> pd.DataFrame:
    """Summarise an attack surface: one row per aspect, how many, and which."""

    def names(values: list[str], limit: int = 6) -> str:
        return ", ".join(values[:limit]) + (f", ... ({len(values)})" if len(values) > limit else "")

    go = s.go_binaries
    rows = [("shells", len(s.shells), names(list(s.shells["path"]))),
            ("package managers", len(s.package_managers), names(list(s.package_managers["path"]))),
            ("setuid/setgid files", len(s.setuid), names(list(s.setuid["path"]))),
            ("OS packages", len(s.packages), names(sorted(set(s.packages["manager"])))),
            ("users", len(s.users), names(list(s.users["name"]))),
            ("runs as root", int(s.runs_as_root), s.user or "no USER: root"),
            ("exposed ports", len(s.ports), names(s.ports)),
            ("Go binaries", len(go), names(sorted({f"{v} CGO_ENABLED={c or '?'}" for v, c in zip(go["go"], go["CGO_ENABLED"])}))),
            ("OS", int(bool(s.os_release)), s.os_release)]
    return pd.DataFrame(rows, columns=["what", "count", "which"])
