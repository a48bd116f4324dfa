"""A classroom for real: JupyterHub, its proxy, N learners running lessons 01-06 at once on one engine.

The hub is started from the kit's own configuration (scripts/hub/jupyterhub_config.py) with the proxy
scripts/hub-up.sh installed. Each learner logs in through the hub's REST API (a token of their own),
starts their own server, gets a copy of lessons 01-06 in their home, and runs them as "Run All" would:
a kernel per lesson, started by THEIR server through the proxy, every code cell in order over the
kernel's websocket. All learners at once. Then: every learner has their own image of every variant the
lessons built, answering and of the recorded size; one learner's clean leaves the others' images; after
everyone's clean nothing of theirs is left; and no hub, proxy, server or kernel process outlives the hub.

Tests of internals: they read the kit's labels and recording, and start its containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
import pytest
from support import free_port, skip_or_fail, wait_for_http

from helpers import cleanup
from helpers.capacity import learner_copy
from helpers.catalog import REPO
from helpers.container import RunningApp
from helpers.labels import LEARNER, VARIANT, plain, split_container, split_learner
from helpers.recording import RECORDING
from helpers.sizes import measure

# default_engine: the hub and the lessons are the kit's own logic; once, on the default engine, is enough.
pytestmark = [pytest.mark.docker, pytest.mark.default_engine, pytest.mark.hub]

CONFIG = REPO / "scripts" / "hub" / "jupyterhub_config.py"
#: How many learners log in at once (KIT_HUB_LEARNERS); the issue asks for at least 4.
N = int(os.environ.get("KIT_HUB_LEARNERS", "4"))
LEARNERS = [f"kit-hub-learner{k + 1}" for k in range(N)]  # a prefix of the test's own on the shared engine
CELL_SECONDS = 300  # as pytest.ini's --nbval-cell-timeout and the room benchmark's nbconvert


def proxy_path() -> str:
    """Return the configurable-http-proxy the hub runs (scripts/hub-up.sh installs it there)."""
    cache = Path(os.environ.get("KIT_HUB_CACHE", "/var/cache/kit-hub"))
    return os.environ.get("KIT_HUB_PROXY") or str(cache / "node_modules" / ".bin" / "configurable-http-proxy")


@dataclass
class Hub:
    """A running hub: where it answers, how the test manages it, and every process it started (seen so far)."""

    proc: subprocess.Popen
    url: str
    token: str  # the kit-admin service's
    password: str  # the learners' shared one
    homes: Path
    room: Path
    log: Path
    seen: dict[int, float] = field(default_factory=dict)  # pid -> create time, of the hub and all it started

    def note_processes(self) -> None:
        """Note the hub's process tree now: proxy, learners' servers, their kernels (and what those run)."""
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                self.seen.setdefault(p.pid, p.create_time())
        except psutil.NoSuchProcess:
            pass

    def alive(self) -> list[psutil.Process]:
        """Return the noted processes still running (the same processes: a pid reused since is not one)."""
        out = []
        for pid, created in self.seen.items():
            try:
                p = psutil.Process(pid)
                if p.create_time() == created and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.NoSuchProcess:
                continue
        return out

    def api(self, method: str, path: str, token: str | None = None, body: object = None) -> object:
        """Call the hub's REST API (``/hub/api/...``) through the proxy; return the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if token:
            request.add_header("Authorization", f"token {token}")
        with urllib.request.urlopen(request, timeout=30) as answer:
            text = answer.read()
        return json.loads(text) if text else None


@pytest.fixture
def hub(docker_engine) -> Iterator[Hub]:
    """Start JupyterHub from the kit's configuration; afterwards stop it, and check none of its processes is left."""
    proxy = proxy_path()
    if not os.access(proxy, os.X_OK):
        skip_or_fail(f"no configurable-http-proxy at {proxy}: run `make hub` (scripts/hub-up.sh)")
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        skip_or_fail("JupyterHub is not installed: run `make dev` (requirements-dev.txt)")
    state = Path(tempfile.mkdtemp(prefix="kit-hub-test-"))
    port = free_port()
    h = Hub(proc=None, url=f"http://127.0.0.1:{port}", token=secrets.token_hex(16),  # type: ignore[arg-type]
            password=secrets.token_hex(8), homes=state / "homes", room=state / "room", log=state / "jupyterhub.log")
    # The hub's environment as an instructor's shell would give it: no learner of the suite's own.
    env = {k: v for k, v in os.environ.items() if k != "KIT_LEARNER" and not k.startswith("JUPYTERHUB_")}
    env.update(KIT_HUB_PASSWORD=h.password, KIT_HUB_STATE=str(state), KIT_HUB_HOMES=str(h.homes),
               KIT_HUB_PORT=str(port), KIT_HUB_SERVICE_TOKEN=h.token, KIT_HUB_PROXY=proxy, KIT_ROOM_DIR=str(h.room))
    with h.log.open("w") as log:  # the child keeps its own copy of the file
        h.proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(CONFIG)], cwd=state, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_http(f"{h.url}/hub/api/", h.proc, 60, "JupyterHub")
        h.note_processes()
        yield h
    finally:
        h.note_processes()
        h.proc.send_signal(signal.SIGTERM)  # the hub stops the learners' servers and the proxy itself
        try:
            h.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            h.proc.kill()
            h.proc.wait()
        # A kernel ends when it sees its server gone (it polls its parent): wait for that, never sleep blindly.
        deadline = time.monotonic() + 30
        while h.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        left = []
        for p in h.alive():  # only the hub's own processes, by pid, each checked to be the one the hub started
            with contextlib.suppress(psutil.Error):
                left.append((p.pid, p.cmdline()[:4]))
                p.kill()
        log_tail = h.log.read_text(errors="replace")[-3000:]
        shutil.rmtree(state, ignore_errors=True)
        assert not left, f"processes left after the hub stopped (now killed): {left}\n{log_tail}"


@pytest.fixture
def learners_cleaned(monkeypatch, docker_engine) -> Iterator[None]:
    """Afterwards, each learner's clean, whatever happened (after the hub stopped: no kernel still builds)."""
    yield
    for who in LEARNERS:
        monkeypatch.setenv("KIT_LEARNER", who)
        cleanup.clean()


def code_cells(home: Path, lesson: str) -> list[str]:
    """Return a lesson's code cells' sources, in order, from the learner's copy."""
    return [c.source for c in nbformat.read(home / lesson, as_version=4).cells if c.cell_type == "code"]


async def run_cell(ws: object, code: str) -> dict:
    """Send one execute_request over a kernel's websocket; return its execute_reply's content."""
    from tornado.websocket import WebSocketClientConnection

    assert isinstance(ws, WebSocketClientConnection)
    msg_id = uuid.uuid4().hex
    await ws.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "kit-test", "session": uuid.uuid4().hex,
                   "date": "", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    while True:
        raw = await asyncio.wait_for(ws.read_message(), CELL_SECONDS)
        if raw is None:
            raise ConnectionError("the kernel's websocket closed")
        if isinstance(raw, bytes):  # a message with binary buffers (widgets): not the reply
            continue
        msg = json.loads(raw)
        if msg.get("channel") == "shell" and msg["parent_header"].get("msg_id") == msg_id \
                and msg["msg_type"] == "execute_reply":
            return msg["content"]


async def run_learner(h: Hub, name: str, token: str, home: Path, lessons: list[str]) -> tuple[float, str | None]:
    """Run a learner's lessons in order, a kernel of their own server's per lesson; return the time and the failure."""
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    http = AsyncHTTPClient()
    auth = {"Authorization": f"token {token}"}
    base = f"{h.url}/user/{name}/api/kernels"
    start = time.monotonic()
    for lesson in lessons:
        # The path makes the kernel's working folder the notebook's (home/notebooks), as in JupyterLab.
        answer = await http.fetch(base, method="POST", headers=auth, request_timeout=60,
                                  body=json.dumps({"name": "python3", "path": lesson}))
        kernel = json.loads(answer.body)["id"]
        ws = await websocket_connect(HTTPRequest(f"{base.replace('http', 'ws', 1)}/{kernel}/channels", headers=auth),
                                     max_message_size=256 * 1024 * 1024)
        try:
            for k, code in enumerate(code_cells(home, lesson), 1):
                reply = await run_cell(ws, code)
                if reply["status"] != "ok":  # "Run All" stops here too
                    first = code.strip().splitlines()[0] if code.strip() else ""
                    return time.monotonic() - start, (
                        f"{name}: {Path(lesson).name}, code cell {k} ({first!r}): "
                        f"{reply.get('ename')}: {reply.get('evalue')}")
        finally:
            ws.close()
            await http.fetch(f"{base}/{kernel}", method="DELETE", headers=auth, request_timeout=60)
    return time.monotonic() - start, None


async def run_room(h: Hub, tokens: dict[str, str], copies: dict[str, tuple[Path, list[str]]]) -> dict:
    """Run every learner's lessons at once; note the hub's processes while they run (servers, kernels)."""
    async def watch() -> None:
        while True:
            h.note_processes()
            await asyncio.sleep(1)

    watcher = asyncio.ensure_future(watch())
    try:
        results = await asyncio.gather(*(run_learner(h, who, tokens[who], *copies[who]) for who in LEARNERS))
    finally:
        watcher.cancel()
    return dict(zip(LEARNERS, results))


def learner_tag(img: object, who: str) -> str | None:
    """Return an image's tag in learner ``who``'s namespace (None: it has none, e.g. a build since took its tag)."""
    return next((plain(t) for t in img.tags if split_learner(plain(t))[0] == who), None)  # type: ignore[attr-defined]


def learner_images(client, who: str) -> dict[str, object]:
    """Return the images the kit built as learner ``who`` (their label, a tag of theirs), by variant label."""
    return {img.labels[VARIANT]: img for img in client.images.list(filters={"label": f"{LEARNER}={who}"})
            if VARIANT in img.labels and learner_tag(img, who)}


def leftovers_of(client, who: str) -> list[str]:
    """Return whatever of learner ``who`` is on the engine: image tags and labels, containers by name or label."""
    out = [f"image {t}" for img in client.images.list() for t in img.tags if split_learner(plain(t))[0] == who]
    out += [f"image {img.id} (labelled)" for img in client.images.list(filters={"label": f"{LEARNER}={who}"})]
    out += [f"container {c.name}" for c in client.containers.list(all=True)
            if split_container(c.name)[0] == who or c.labels.get(LEARNER) == who]
    return out


def clean_as(who: str) -> str:
    """Run the learner's own ``python -m helpers clean``, as their terminal would; return what it said."""
    done = subprocess.run([sys.executable, "-m", "helpers", "clean"], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "KIT_LEARNER": who, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0, f"{who}'s clean failed:\n{done.stdout}{done.stderr}"
    return done.stdout


# The hub, the lessons of N learners at once and the checks: 421 s for 4 learners' lessons alone in the room
# benchmark, from nothing built; pytest.ini's 10 minutes are for one test that hangs, this one is long by design.
@pytest.mark.timeout(1500)
def test_learners_run_lessons_01_to_06_at_once_through_the_hub(learners_cleaned, hub, docker_engine,
                                                               monkeypatch) -> None:
    began = time.monotonic()
    hub.api("POST", "/hub/api/users", hub.token, {"usernames": LEARNERS})
    # Each learner logs in with the shared password (the body's auth, as a script's log-in): a token of theirs.
    tokens = {who: hub.api("POST", f"/hub/api/users/{who}/tokens", None,
                           {"auth": {"username": who, "password": hub.password}, "note": "kit hub test"})["token"]
              for who in LEARNERS}
    copies = {who: learner_copy(hub.homes, who) for who in LEARNERS}  # in the home the hub gives them
    for who in LEARNERS:
        hub.api("POST", f"/hub/api/users/{who}/server", tokens[who])
    deadline = time.monotonic() + 180
    while not all((hub.api("GET", f"/hub/api/users/{who}", tokens[who])["servers"].get("") or {}).get("ready")
                  for who in LEARNERS):
        assert time.monotonic() < deadline, f"the servers were not ready in 180 s:\n{hub.log.read_text()[-3000:]}"
        time.sleep(0.5)
    ready = time.monotonic() - began

    results = asyncio.run(run_room(hub, tokens, copies))
    lessons_took = time.monotonic() - began - ready
    for who, (took, _) in results.items():
        print(f"hub test: {who} ran lessons 01-06 in {took:.1f} s")
    print(f"hub test: {N} learners' servers ready in {ready:.1f} s, all their lessons done in {lessons_took:.1f} s")
    failed = [why for _, why in results.values() if why]
    assert not failed, "lessons failed through the hub:\n" + "\n".join(failed)

    # Every learner has their own image of every variant the lessons built: the same variants, other images.
    images = {who: learner_images(docker_engine, who) for who in LEARNERS}
    variants = set(images[LEARNERS[0]])
    assert variants, f"lessons 01-06 built no image labelled as {LEARNERS[0]}'s"
    assert all(set(images[who]) == variants for who in LEARNERS), {who: sorted(i) for who, i in images.items()}
    ids = [img.id for who in LEARNERS for img in images[who].values()]
    assert len(set(ids)) == len(ids), "two learners share an image: their labels would make them differ"
    recorded = json.loads(RECORDING.read_text())["results"]
    for who in LEARNERS:
        monkeypatch.setenv("KIT_LEARNER", who)  # the kit's run, in the learner's namespace (container name, label)
        for variant, img in images[who].items():
            tag = learner_tag(img, who)
            with RunningApp(tag) as app:
                assert app.name.endswith(f".{who}")
                with urllib.request.urlopen(app.url, timeout=10) as answer:
                    assert b"Hello CMS DAQ Group!" in answer.read(), (who, tag)
            if variant in recorded:  # as tests/test_engine_sizes.py, held to the recording
                # The kit's own measure: its reader's figures per layer, each layer read once for every learner
                # (their build steps are shared); read_image of each learner's image would read 4 x 1.4 GB.
                got, want = measure(img.id).unpacked_bytes, recorded[variant]["size_bytes"]
                assert abs(got - want) <= 0.001 * want, (who, variant, got, want)
    assert variants & set(recorded), f"no variant of the recording's among {sorted(variants)}"
    untagged = {who: len(docker_engine.images.list(filters={"label": f"{LEARNER}={who}", "dangling": True}))
                for who in LEARNERS}
    print(f"hub test: each learner's images: {sorted(variants)}; untagged ones labelled as theirs: {untagged}")
    monkeypatch.delenv("KIT_LEARNER")
    assert not any(c.labels.get(LEARNER) in LEARNERS for c in docker_engine.containers.list(all=True))

    # The first learner's clean leaves every other learner's images as they were; then everyone's, nothing left.
    clean_as(LEARNERS[0])
    assert not learner_images(docker_engine, LEARNERS[0])
    for who in LEARNERS[1:]:
        assert {v: i.id for v, i in learner_images(docker_engine, who).items()} == \
            {v: i.id for v, i in images[who].items()}, f"{LEARNERS[0]}'s clean touched {who}'s images"
    for who in LEARNERS[1:]:
        clean_as(who)
    left = [x for who in LEARNERS for x in leftovers_of(docker_engine, who)]
    assert not left, f"left on the engine after every learner's clean: {left}"

    # Lesson 06's exercise check is the one recorded check lessons 01-06 run as given (the questions' answers
    # are None): a line from each learner, in the room's one folder, under their own name.
    for who in LEARNERS:
        lines = [json.loads(x) for x in (hub.room / f"{who}.jsonl").read_text().splitlines()]
        assert [(x["learner"], x["check"], x["mode"]) for x in lines] == [(who, "06-exercise", "live")], lines
    print(f"hub test: {N} learners, the whole test {time.monotonic() - began:.1f} s (hub start not counted)")
