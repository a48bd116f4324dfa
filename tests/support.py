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


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
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
    rest of the suite uses. It gets a bridge of its own and no iptables rules: a dockerd started with
    ``--bridge=none`` deletes the machine's docker0, which the default engine's containers need.
    """

    BRIDGE = "kitspare0"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sock = root / "d.sock"
        self.host = f"unix://{self.sock}"
        self.proc: subprocess.Popen | None = None

    def start(self, seconds: float = 60) -> None:
        """Start the engine (again) and wait until it answers; fail naming it after ``seconds``."""
        # Pid files a kill -9 left: dockerd's own, and its containerd's (which died with it).
        (self.root / "d.pid").unlink(missing_ok=True)
        (self.root / "exec" / "containerd" / "containerd.pid").unlink(missing_ok=True)
        if subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True).returncode != 0:
            subprocess.run(["ip", "link", "add", self.BRIDGE, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", "10.211.0.1/24", "dev", self.BRIDGE], check=True)
            subprocess.run(["ip", "link", "set", self.BRIDGE, "up"], check=True)
        log = open(self.root / "dockerd.log", "a")
        self.proc = subprocess.Popen(
            ["dockerd", "--host", self.host, "--data-root", str(self.root / "data"), "--exec-root",
             str(self.root / "exec"), "--pidfile", str(self.root / "d.pid"), f"--bridge={self.BRIDGE}",
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
        subprocess.run(["ip", "link", "delete", self.BRIDGE], capture_output=True)

    def unmount(self) -> None:
        """Unmount what a killed engine left mounted under its folder, so the folder can go."""
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                  if line.split()[1].startswith(str(self.root))]
        for m in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
