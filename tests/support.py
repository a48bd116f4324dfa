"""Small helpers the tests share: a free loopback port, waiting for a server, a spare engine."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def required() -> bool:
    """Say whether this run must not skip what it cannot do (CI, `make test`)."""
    return bool(os.environ.get("CI") or os.environ.get("KIT_REQUIRE_ENGINE"))


def skip_or_fail(why: str) -> None:
    """Skip on a learner's machine; fail in CI and under `make test`, where a skip would hide a gap."""
    import pytest

    if required():
        pytest.fail(why)
    pytest.skip(why)


def dangling_ids(client) -> set[str]:
    """Return the ids of the untagged images that nothing stands on (what a leftovers check counts).

    Podman also lists as dangling a step image that made no filesystem layer (``WORKDIR /`` on scratch):
    it finds an image's children by their layers, so it sees none, yet the next steps' build cache stands
    on it (removed, the rest of the stage builds again). That is cache, not a leftover.
    """
    from helpers import engine

    ids = {x.id for x in client.images.list(filters={"dangling": True})}
    if not engine.is_podman():
        return ids
    return {i for i in ids if (client.images.get(i).attrs.get("RootFS") or {}).get("Layers")}


def free_port(addr: str = "127.0.0.1") -> int:
    """Return a TCP port on ``addr`` (an address of this machine) that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, seconds: float, what: str) -> None:
    """Wait until ``url`` answers; fail early if ``proc`` dies, or after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{what} did not start (exit code {proc.poll()})") from None
            time.sleep(0.3)


class SpareEngine:
    """A second Docker engine of the machine's own dockerd, on its own socket and data folder.

    For tests that must kill an engine mid-build and start it again without touching the one the
    rest of the suite uses, or reach it as a remote engine (``remote=True``: in a network namespace of
    its own, over tcp://, publishing ports on its own address). It gets a bridge of its own and no iptables rules: a dockerd started with
    ``--bridge=none`` deletes the machine's docker0, which the default engine's containers need.
    """

    BRIDGE = "kitspare0"
    NETNS = "kitremote"  # with remote=True: the engine's own network namespace, as on another host
    HOST_IP, ENGINE_IP = "10.212.0.1", "10.212.0.2"

    def __init__(self, root: Path, remote: bool = False) -> None:
        self.root = root
        self.sock = root / "d.sock"
        self.remote = remote
        self.host = f"tcp://{self.ENGINE_IP}:2375" if remote else f"unix://{self.sock}"
        self.proc: subprocess.Popen | None = None

    def _network(self) -> list[str]:
        """Make the engine's network; return the command prefix and flags that put dockerd in it."""
        if self.remote:  # its own namespace, reached over a veth pair: like an engine on another host
            if subprocess.run(["ip", "netns", "pids", self.NETNS], capture_output=True).returncode != 0:
                for cmd in [f"ip netns add {self.NETNS}", "ip link add kitveth0 type veth peer name kitveth1",
                            f"ip link set kitveth1 netns {self.NETNS}", f"ip addr add {self.HOST_IP}/24 dev kitveth0",
                            "ip link set kitveth0 up",
                            f"ip netns exec {self.NETNS} ip addr add {self.ENGINE_IP}/24 dev kitveth1",
                            f"ip netns exec {self.NETNS} ip link set kitveth1 up",
                            f"ip netns exec {self.NETNS} ip link set lo up"]:
                    subprocess.run(cmd.split(), check=True)
            # nsenter, not `ip netns exec`: that one remounts /sys, and dockerd then finds no cgroups.
            return ["nsenter", f"--net=/var/run/netns/{self.NETNS}"]  # its docker0 is inside the namespace
        if subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.BRIDGE, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", "10.211.0.1/24", "dev", self.BRIDGE], check=True)
            subprocess.run(["ip", "link", "set", self.BRIDGE, "up"], check=True)
        return []

    def start(self, seconds: float = 60) -> None:
        """Start the engine (again) and wait until it answers; fail naming it after ``seconds``."""
        # Pid files a kill -9 left: dockerd's own, and its containerd's (which died with it).
        (self.root / "d.pid").unlink(missing_ok=True)
        (self.root / "exec" / "containerd" / "containerd.pid").unlink(missing_ok=True)
        prefix = self._network()
        where = ["--host", f"unix://{self.sock}", "--host", self.host] if self.remote else ["--host", self.host]
        bridge = [] if self.remote else [f"--bridge={self.BRIDGE}"]
        log = open(self.root / "dockerd.log", "a")
        self.proc = subprocess.Popen(
            [*prefix, "dockerd", *where, "--data-root", str(self.root / "data"), "--exec-root",
             str(self.root / "exec"), "--pidfile", str(self.root / "d.pid"), *bridge,
             "--iptables=false", "--ip-masq=false"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + seconds
        while not self.answers():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"the spare engine did not answer on {self.host} within {seconds} s:\n"
                                   + (self.root / "dockerd.log").read_text()[-2000:])
            time.sleep(0.3)

    def answers(self) -> bool:
        """Say whether the engine answers a ping."""
        import docker

        try:
            docker.DockerClient(base_url=self.host, timeout=3).ping()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not yet"
            return False

    def kill(self) -> None:
        """Kill dockerd at once (SIGKILL), as a crash would; its containerd lives on, as it would."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop the engine, then every process it left (containerd, shims), then unmount its folder."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        subprocess.run(["pkill", "-9", "-f", str(self.root)], capture_output=True)
        time.sleep(0.5)
        self.unmount()
        if self.remote:
            subprocess.run(["ip", "link", "delete", "kitveth0"], capture_output=True)
            subprocess.run(["ip", "netns", "delete", self.NETNS], capture_output=True)
        else:
            subprocess.run(["ip", "link", "delete", self.BRIDGE], capture_output=True)

    def unmount(self) -> None:
        """Unmount what a killed engine left mounted under its folder, so the folder can go."""
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.root))]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)


def tar_of(files: dict[str, bytes]) -> bytes:
    """Return a tar archive holding these files (name -> bytes), in this order."""
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
