"""A room's capacity, measured: N learners running lessons 01-06 at once on one engine and one machine.

Each learner is what a hub gives one: a copy of the lessons of their own, their own kernels, and their
own namespace on the shared engine (``KIT_LEARNER``); the lessons run top to bottom as "Run All" runs
them (nbconvert --execute, live). The hub itself (its proxy, its log-in) is left out: it costs little beside the
kernels and the builds. For each N the benchmark gives the time until every learner finished, the
engine's disk that their images added, and the machine's peak memory above what it used before.
Each N starts as a room does, with the bases on the engine and no variant built (a ``clean`` first,
which removes a learner alone's images too); afterwards each learner's objects go with their own ``clean``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
from docker.errors import APIError
from traitlets.config import Config

from . import engine
from .benchmark import span_utc
from .catalog import REPO

LESSONS = [f"{n:02d}" for n in range(1, 7)]
NOTEBOOKS = REPO / "notebooks"


def _meminfo() -> dict[str, int]:
    """Return /proc/meminfo's fields, in bytes."""
    fields = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = int(value.split()[0]) * 1024
    return fields


def _meminfo_used() -> int:
    """Return the machine's memory in use (MemTotal - MemAvailable), in bytes."""
    fields = _meminfo()
    return fields["MemTotal"] - fields["MemAvailable"]


class _PeakMemory:
    """Sample the machine's memory in use twice a second, in a thread, and keep the highest."""

    def __init__(self) -> None:
        self.base = _meminfo_used()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, _meminfo_used())

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def learner_copy(root: Path, name: str) -> tuple[Path, list[str]]:
    """Give learner ``name`` the lessons of their own in ``root/name`` (as a hub's home would), beside the kit's
    app and Dockerfiles; return the home and the lessons' paths in it (the room benchmark, tests/test_hub.py)."""
    home = root / name
    (home / "notebooks").mkdir(parents=True)
    for folder in ["app", "dockerfiles", "solutions"]:
        (home / folder).symlink_to(REPO / folder)  # read only in lessons 01-06
    shutil.copytree(NOTEBOOKS / "exercise", home / "notebooks" / "exercise")
    lessons = []
    for lesson in LESSONS:
        path = next(NOTEBOOKS.glob(f"{lesson}-*.ipynb"))
        shutil.copy(path, home / "notebooks" / path.name)
        lessons.append(f"notebooks/{path.name}")
    return home, lessons


def _layers_bytes() -> int:
    """Return the engine's disk for images: their layers, and BuildKit's build cache (where the engine has one)."""
    df = engine.client().df()
    return int(df.get("LayersSize") or 0) + sum(int(c.get("Size") or 0) for c in df.get("BuildCache") or [])


#: The first of the TCP ports the room's kernels listen on: below the machine's ephemeral ports (32768-60999
#: on Linux), which outgoing connections take, and above the usual services'.
ROOM_PORTS = 29000


def kernel_ports(k: int) -> dict[str, int]:
    """Return the TCP ports learner ``k``'s kernels listen on, five of their own, which each lesson's kernel
    takes in turn once the one before it has ended.

    Not ports picked at random: jupyter_client picks a free port and lets it go before the kernel binds it, and
    eight learners' kernels starting at once raced for one ("Address already in use", 2026-12-01).
    """
    first = ROOM_PORTS + 10 * k
    return {f"{name}_port": first + i for i, name in enumerate(["shell", "iopub", "stdin", "control", "hb"])}


def kernel_config(k: int) -> Config:
    """Return the kernel manager's settings for learner ``k``: their own ports (``kernel_ports``), kept."""
    config = Config()
    config.KernelManager.cache_ports = False  # else jupyter_client picks random ports over these
    for name, port in kernel_ports(k).items():
        config.KernelManager[name] = port
    return config


def run_lessons(lessons: list[str], k: int, timeout: float) -> None:
    """Run each lesson top to bottom as "Run All" does, in a kernel of its own on learner ``k``'s ports, and save
    it with its outputs; stop at the first cell that fails (CellExecutionError), as a learner's "Run All" does.

    nbclient, as ``nbconvert --execute``, but without its stand-in for JupyterLab's Output widget: that stand-in
    sends the widget's outputs back to the kernel on the shell channel while the cell's reply is awaited on the
    same channel, and five times on 2026-12-02 a learner's runner waited for ever in lesson 05, whose chart is an
    Output widget, with the kernel idle and the cell done (its third cell each of the three times the cell was
    read; over unix sockets and TCP, with ipykernel 7.4 and 6.31; nbclient issue 312, "when cell contains
    ipywidget, execute cell will sometimes blocks"). The hub test, which reads the replies itself and leaves
    widgets alone, never showed it. The Output widget's contents are not kept in the saved lesson.
    """
    import nbformat
    from nbclient import NotebookClient

    config = kernel_config(k)
    for lesson in lessons:
        nb = nbformat.read(lesson, as_version=4)
        client = NotebookClient(nb, timeout=int(timeout), kernel_name="python3", config=config,
                                resources={"metadata": {"path": str(Path(lesson).parent)}})
        client.widget_registry = {}  # no stand-in for the Output widget (see above)
        print(f"running {lesson}", flush=True)
        client.execute()
        nbformat.write(nb, lesson)


def _clean_as(learner: str) -> None:
    """Run ``python -m helpers clean`` as learner ``learner`` would ("": no learner, as a room starts)."""
    subprocess.run([sys.executable, "-m", "helpers", "clean"], cwd=REPO, capture_output=True,
                   env={**os.environ, "KIT_LEARNER": learner, "PYTHONPATH": str(REPO)})


def run_room(n: int, timeout: float = 3600.0) -> dict[str, object]:
    """Run lessons 01-06 for ``n`` learners at once; return the times, the disk and the memory they took."""
    names = [f"room{k + 1}" for k in range(n)]
    # As a room starts: the bases on the engine, no variant built yet (a learner alone's images go too).
    _clean_as("")
    try:  # and no build cache: `clean` leaves BuildKit's, and with it the first room ran warm (29 s, 2026-12-02)
        engine.client().api.prune_builds()
    except APIError:
        pass  # Podman keeps no BuildKit cache to prune
    with tempfile.TemporaryDirectory(prefix="kit-room-bench-") as tmp:
        root = Path(tmp)
        disk_before = _layers_bytes()
        procs: dict[str, tuple[subprocess.Popen, float]] = {}
        try:
            with _PeakMemory() as memory:
                start, started_at = time.monotonic(), int(time.time())
                for k, name in enumerate(names):
                    home, lessons = learner_copy(root, name)
                    env = {**os.environ, "KIT_LEARNER": name, "KIT_MODE": "live", "KIT_ROOM_DIR": str(root / "room"),
                           "PYTHONPATH": str(REPO)}
                    # "Run All", lesson after lesson, each saved with its outputs in the learner's copy; it stops
                    # at a cell that fails, as a learner's would. A learner's cell has no time limit: the room's
                    # ``timeout`` bounds it (at 8 learners on this slower machine, lesson 04's build of every variant
                    # took over the 300 s once set here: 7 of 8 stopped there, 2026-12-01).
                    cmd = [sys.executable, "-m", "helpers.capacity", str(k), str(int(timeout)), *lessons]
                    with (root / f"{name}.log").open("w") as log:  # the child keeps its own copy of the file
                        procs[name] = (subprocess.Popen(cmd, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                        text=True), time.monotonic())
                took: dict[str, float] = {}
                while len(took) < len(procs):  # each learner's time is theirs: note it as each one ends
                    for name, (proc, began) in procs.items():
                        if name not in took and proc.poll() is not None:
                            took[name] = time.monotonic() - began
                    if time.monotonic() - start > timeout:
                        for name, (proc, began) in procs.items():
                            if name not in took:
                                proc.kill()
                                proc.wait()
                                took[name] = time.monotonic() - began
                    time.sleep(0.5)
                failed = []
                for name, (proc, _) in procs.items():
                    if proc.returncode != 0:
                        log_text = (root / f"{name}.log").read_text()
                        said = [x for x in log_text.splitlines() if "Error" in x]
                        kept = Path(tempfile.gettempdir()) / f"kit-room-bench-{n}-{name}.log"  # whole, kept
                        kept.write_text(log_text)
                        failed.append(f"{name}: {said[-1] if said else f'exit {proc.returncode}'} (log: {kept})")
                wall = time.monotonic() - start
                # What removed or untagged an image, and when: to set beside a failing learner's log.
                events = f"; the engine's image events: {_keep_image_events(n, started_at)}" if failed else ""
            disk_added = _layers_bytes() - disk_before
        finally:  # on Ctrl-C too: no learner's runner, kernel, container or image stays behind
            for proc, _ in procs.values():
                if proc.poll() is None:
                    proc.kill()  # its kernel sees its parent gone and ends
                    proc.wait()
            for name in names:  # each learner cleans what was theirs
                _clean_as(name)
    return {
        "learners": n,
        "all finished (s)": round(wall, 1),
        "fastest learner (s)": round(min(took.values()), 1),
        "slowest learner (s)": round(max(took.values()), 1),
        "engine disk added (MB)": round(disk_added / 1e6, 1),
        "peak memory added (MB)": round((memory.peak - memory.base) / 1e6, 1),
        "lessons passed": f"{n - len(failed)}/{n} learners" + (f" ({'; '.join(failed)}{events})" if failed else ""),
    }


def _keep_image_events(n: int, since: int) -> Path:
    """Write the engine's image events since ``since`` (untag, delete, tag), one per line, to a file in /tmp."""
    kept = Path(tempfile.gettempdir()) / f"kit-room-bench-{n}-image-events.log"
    events = engine.client().events(since=since, until=int(time.time()) + 1, filters={"type": "image"}, decode=True)
    with kept.open("w") as out:
        for e in events:
            if e.get("Action") in ("untag", "delete", "tag"):
                when = time.strftime("%H:%M:%S", time.gmtime(e.get("time", 0)))
                out.write(f"{when} {e['Action']} {e.get('id', '')} {e.get('Actor', {}).get('Attributes', {})}\n")
    return kept


def room_report(sizes: list[int]) -> str:
    """Run the room for each N in ``sizes`` and return the table, with where and when it ran."""
    info, start = engine.info(), time.time()
    rows = [run_room(n) for n in sizes]
    head = (f"room capacity {span_utc(start)}, {info.product} {info.version}, "
            f"{os.cpu_count()} cores, {round(_meminfo_total() / 1e9, 1)} GB memory: lessons 01-06, live, each learner "
            "in their own kernels and namespace")
    return head + "\n" + pd.DataFrame(rows).to_string(index=False)


def _meminfo_total() -> int:
    return _meminfo()["MemTotal"]


if __name__ == "__main__":  # one learner of the room: python -m helpers.capacity K TIMEOUT LESSON...
    run_lessons(sys.argv[3:], int(sys.argv[1]), float(sys.argv[2]))
