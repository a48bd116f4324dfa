"""The lessons' "now in the terminal" cells: the workshop's own docker commands, run as typed.

A cell that starts with ``%%terminal`` holds shell commands, one per line (a ``\\`` at the end
continues a line; ``#`` starts a comment). Live, each command is printed as ``$ command`` and runs in
bash from ``notebooks/``, against the engine the kit uses, its output shown as it comes; the first
that fails ends the cell with one clear error. Recorded (no engine), each command is shown with the
output it printed when the recording was made, under a line that says so.

Placeholders stand for what differs between machines and learners; the ``$`` line shows them filled in:

- ``{docker-build}``: `docker build` with the builder the kit's builds use here, so that the CLI makes
  the very same image from the same cache: ``docker buildx build --load --provenance=false`` (or
  ``DOCKER_BUILDKIT=1 docker build`` on a CLI with BuildKit built in), else ``DOCKER_BUILDKIT=0 docker build``;
- ``{port}``: the workshop's host port, 8082, or a free one when 8082 is taken (said in one line);
- ``{host}``: where the engine publishes ports: localhost, or a remote engine's host;
- ``{build-args:VARIANT}`` or ``{build-args:PATH}``: the ``--build-arg`` flags that give a variant's
  Dockerfile (or a Dockerfile's path from ``notebooks/``, such as ``exercise/Dockerfile``) the bases
  this engine has: nothing when the official images are here, the kit's local equivalents otherwise;
- ``{base:KEY}``: the image that stands for a catalog base here (``{base:distroless}``);
- ``{image:NAME}`` and ``{container:NAME}``: a workshop image name (``cms-daq-workshop-...``) and
  container name (``cms-daq-simple-app-...``) in the learner's form (``alice/cms-daq-workshop-...``,
  ``cms-daq-simple-app-....alice``; see labels.py), the name itself for a learner alone;
- ``{learner-label}`` and ``{learner-filter}``: ``--label`` / ``--filter label=`` with the learner's
  label (a build's image and the containers run from it then carry it, a listing shows hers only);
  nothing for a learner alone.

For a learner alone every command is the very one the workshop types. The recording keeps each
command under that form (``recording_key``), so one recording replays for every learner.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import engine
from .catalog import BASES, REPO, VARIANTS
from .container import port_is_free
from .errors import KitError, RecordingMissing
from .labels import SEED_CONTAINER_PREFIX, TAG_PREFIX, in_namespace, learner, learner_container, learner_option

NOTEBOOKS = REPO / "notebooks"
SEED_PORT = 8082  # the workshop's `docker run -p 8082:8080`
MAGIC = "%%terminal"
_PLACEHOLDER = re.compile(r"\{(docker-build|port|host|learner-label|learner-filter|build-args:[\w./-]+|base:[\w-]+"
                          r"|image:[\w.:-]+|container:[\w.-]+)\}")
#: The placeholders that differ between learners, with the space before an empty one.
_LEARNER_PLACEHOLDER = re.compile(r" ?\{(learner-label|learner-filter)\}|\{(?:image|container):([\w.:-]+)\}")


class CommandFailed(KitError):
    """A terminal command that exited with an error."""


@dataclass
class Transcript:
    """One command as the lesson wrote it, as it ran, and what it printed."""

    template: str
    command: str
    output: str


def commands(cell: str) -> list[str]:
    """Return the commands of a cell's text: continued lines joined, comments and blank lines dropped."""
    text = re.sub(r"[ \t]*\\\n\s*", " ", cell)
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith(("#", MAGIC))]


def recording_key(template: str) -> str:
    """Return a command as a learner alone types it (``{image:NAME}`` -> NAME, ``{learner-label}`` -> nothing),
    the other placeholders as written: what the recording keeps its output under."""
    return _LEARNER_PLACEHOLDER.sub(lambda m: m.group(2) or "", template)


def port_is_taken(host: str, port: int) -> bool:
    """Say whether something already listens on ``host:port`` (where the engine would publish)."""
    if host in ("localhost", "127.0.0.1"):
        return not port_is_free(port)  # the engine publishes on this machine: the same test as helpers.run's
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


#: Where learners on one machine claim their terminal port, one file per port naming its learner: two
#: kernels that found the same port free at the same moment would otherwise both `docker run -p` on it,
#: and the second fails ("port is already allocated"). A sticky folder: each learner's claims are theirs.
PORT_CLAIMS = Path(tempfile.gettempdir()) / "cms-daq-kit-ports"


def claim_port(port: int, who: str | None, folder: Path | None = None) -> bool:
    """Claim ``port`` for learner ``who``; return whether it is theirs (a learner alone claims nothing)."""
    if who is None:
        return True
    folder = folder or PORT_CLAIMS
    path = folder / str(port)
    try:
        if not folder.is_dir():
            folder.mkdir(exist_ok=True)
            folder.chmod(0o1777)  # every learner may claim; none may take another's claim away
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        try:
            return path.read_text().strip() == who
        except OSError:
            return False
    except OSError:
        return True  # no folder to claim in: the free-port check is all there is
    with os.fdopen(fd, "w") as f:
        f.write(who)
    return True


class Placeholders:
    """Fill in a command's placeholders for this machine, choosing the port once per kernel."""

    def __init__(self, say: Callable[[str], None] = print) -> None:
        self.say = say
        self._port: int | None = None

    def host(self) -> str:
        """Return where the engine publishes ports, as a learner types it."""
        published = engine.endpoint().published_host
        return "localhost" if published in ("127.0.0.1", "localhost") else published

    def port(self) -> int:
        """Return the workshop's port, or the next free one after it (saying so once)."""
        if self._port is None:
            host, port = self.host(), SEED_PORT
            while (port_is_taken(host, port) or not claim_port(port, learner())) and port < SEED_PORT + 100:
                port += 1
            if port != SEED_PORT:
                self.say(f"Port {SEED_PORT} is taken on {host}, so these commands use {port} instead.")
            self._port = port
        return self._port

    def docker_build(self) -> str:
        """Return the `docker build` of the builder that ``helpers.build`` uses here, as a learner types it."""
        from .builds import builder_named  # builds needs the engine's modules; the terminal's replay does not

        return " ".join(builder_named(None).typed())

    def build_args(self, name: str) -> str:
        """Return the --build-arg flags that give a variant, or a Dockerfile at a path, the bases this engine has.

        A path's bases are its ``ARG NAME=<official image>`` lines, read as ``check_exercise`` reads them.
        """
        from .bases import arg_bases, resolve

        if name in VARIANTS:
            wanted = VARIANTS[name].bases
        elif (NOTEBOOKS / name).is_file():
            wanted = arg_bases(NOTEBOOKS / name)
        else:
            raise KitError(f"{{build-args:{name}}} names no variant and no Dockerfile under notebooks/.",
                           f"use one of: {', '.join(VARIANTS)}, or a path such as exercise/Dockerfile.")
        used = [resolve(arg, key) for arg, key in wanted.items()]
        return " ".join(f"--build-arg {u.arg}={shlex.quote(u.used)}" for u in used if u.used != u.requested)

    def base(self, key: str) -> str:
        """Return the image that stands for a catalog base on this engine (the official one, or its equivalent)."""
        from .bases import resolve

        if key not in BASES:
            raise KitError(f"{{base:{key}}} names no catalog base.", f"use one of: {', '.join(BASES)}.")
        return resolve("BASE", key).used

    def image(self, name: str) -> str:
        """Return a workshop image name (``cms-daq-workshop-...``, a tag may follow) in the learner's namespace."""
        if not name.startswith(TAG_PREFIX):
            raise KitError(f"{{image:{name}}} names no image of the workshop's.",
                           f"use a name that starts with {TAG_PREFIX} (clean finds those).")
        return in_namespace(name)

    def container(self, name: str) -> str:
        """Return a workshop container name (``cms-daq-simple-app-...``) in the learner's form."""
        if not name.startswith(SEED_CONTAINER_PREFIX):
            raise KitError(f"{{container:{name}}} names no container of the workshop's.",
                           f"use a name that starts with {SEED_CONTAINER_PREFIX} (clean finds those).")
        return learner_container(name)

    def fill(self, template: str) -> str:
        """Return the command with its placeholders filled in."""
        def one(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "port":
                return str(self.port())
            if key == "host":
                return self.host()
            if key == "docker-build":
                return self.docker_build()
            if key.startswith("learner-"):
                return learner_option(key.removeprefix("learner-"))
            kind, _, name = key.partition(":")
            fills = {"base": self.base, "build-args": self.build_args, "image": self.image, "container": self.container}
            return fills[kind](name)

        return re.sub(r"\s+", " ", _PLACEHOLDER.sub(one, template)).strip()


def run_live(cell: str, placeholders: Placeholders, echo: bool = True) -> list[Transcript]:
    """Run each command of a cell in bash from notebooks/, printing it and its output; stop at a failure."""
    env = {**os.environ, "DOCKER_HOST": engine.endpoint().url}
    done = []
    for template in commands(cell):
        command = placeholders.fill(template)
        if echo:
            print(f"$ {command}", flush=True)
        proc = subprocess.Popen(["bash", "-c", command], cwd=NOTEBOOKS, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if echo:
                print(line, end="", flush=True)
        code = proc.wait()
        if lines and not lines[-1].endswith("\n"):  # curl prints the greeting without a newline
            lines[-1] += "\n"
            if echo:
                print(flush=True)
        done.append(Transcript(template, command, "".join(lines)))
        if code != 0:
            raise CommandFailed(f"`{command.split(' --', 1)[0]}` ended with exit code {code}.",
                                _hint(command, "".join(lines)), detail="".join(lines[-5:]))
    return done


def _hint(command: str, output: str) -> str:
    """Say what to do about a failed command, from what it printed."""
    if "is already in use by container" in output:
        return "a container of that name is still there: remove it with `docker rm -f NAME`, then run the cell again."
    if "port is already allocated" in output or "address already in use" in output:
        return "another program has that port: stop it, or restart the kernel (the lesson then picks a free port)."
    if "command not found" in output:
        return "this machine has no docker CLI on PATH: run `make setup` (it installs one with the engine)."
    if "Cannot connect to the Docker daemon" in output or "permission denied" in output.lower():
        return "the docker CLI cannot reach the engine: run `python -m helpers doctor` and follow what it says."
    if command.startswith("curl"):
        return "the app did not answer: check that its container runs (`docker ps`) and publishes the port."
    return "read the command's last lines above; fix what they name, then run the cell again."


def replay(cell: str, transcripts: dict[str, Transcript], summary: str) -> None:
    """Show each command of a cell with its recorded output, under a line that says it is recorded."""
    print(f"(recorded: no engine answers here; what these commands printed was {summary})")
    for template in commands(cell):
        t = transcripts.get(recording_key(template))
        if t is None:
            raise RecordingMissing(f"The recording has no output for `{template}`.",
                                   "on a machine with Docker run `python -m helpers record`, then commit the recording.")
        print(f"$ {t.command}")
        print(t.output, end="")


def notebook_cells() -> dict[str, list[str]]:
    """Return every lesson's ``%%terminal`` cells, in order: notebook name -> cell texts."""
    import nbformat

    out: dict[str, list[str]] = {}
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        cells = [c.source for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and c.source.lstrip().startswith(MAGIC)]
        if cells:
            out[path.stem] = cells
    return out


def record_all(say: Callable[[str], None] = print) -> dict[str, dict[str, str]]:
    """Run every lesson's terminal cells on the live engine, in order, and return what each command printed.

    The result maps each command as a learner alone types it (``recording_key``) to the command as it
    ran and its output; a command that two lessons share (curl) must print the same in both.
    """
    out: dict[str, dict[str, str]] = {}
    for notebook, cells in notebook_cells().items():
        say(f"recording the terminal cells of {notebook} ...")
        placeholders = Placeholders(say=lambda _msg: None)
        for cell in cells:
            for t in run_live(cell, placeholders, echo=False):
                key = recording_key(t.template)
                if key in out and out[key]["output"] != t.output:
                    raise KitError(f"`{key}` printed one thing in one lesson and another in {notebook}.",
                                   "write it differently in one of them: a recording keeps one output per command.")
                out[key] = {"command": t.command, "output": t.output}
    return out


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the %%terminal magic in a lesson, or `python -m helpers record`")
