"""JupyterHub's configuration for a classroom on one server and one shared engine (tests/test_hub.py proves it).

    jupyterhub -f scripts/hub/jupyterhub_config.py     (from the repository, as the user who runs the engine)

Every learner logs in with the one shared password, gets a home of their own under ``KIT_HUB_HOMES`` and a
single-user server that runs as the same system user as the hub (no accounts to make): the kit keeps
learners apart on the engine by ``JUPYTERHUB_USER``, which the hub sets (helpers/labels.py), not by system
users. That is for a workshop's room of trusted learners, not for strangers: every learner's server may
read every other learner's home. Everything else comes from the environment (defaults in brackets):

- ``KIT_HUB_PASSWORD`` the learners' shared password, at least 8 characters (required);
- ``KIT_HUB_HOMES`` the folder of the learners' homes [/tmp/kit-hub-homes];
- ``KIT_HUB_STATE`` the hub's database, cookie secret and proxy pid file [a new temporary folder];
- ``KIT_HUB_PORT`` the port learners open, on 127.0.0.1 [8000]; ``KIT_HUB_IP`` another address [127.0.0.1];
- ``KIT_HUB_API_PORT``, ``KIT_HUB_PROXY_API_PORT`` the hub's and the proxy's own API ports [free ports];
- ``KIT_HUB_PROXY`` the configurable-http-proxy to run [what scripts/hub-up.sh printed];
- ``KIT_HUB_SERVICE_TOKEN`` a token for scripts (the tests') to manage learners through the REST API [none];
- ``KIT_ROOM_DIR`` the room's folder, one for every learner (helpers/classroom.py) [KIT_HUB_STATE/room];
- ``KIT_CACHE_DIR`` the kit's cache of measured layer sizes, one for every learner [the hub user's own].
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from helpers.sizes import cache_file  # noqa: E402 - the kit's, from this repository

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - JupyterHub defines it for its config files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


state = Path(os.environ.get("KIT_HUB_STATE") or tempfile.mkdtemp(prefix="kit-hub-"))
state.mkdir(parents=True, exist_ok=True)
homes = Path(os.environ.get("KIT_HUB_HOMES", "/tmp/kit-hub-homes"))
room = os.environ.get("KIT_ROOM_DIR") or str(state / "room")
ip = os.environ.get("KIT_HUB_IP", "127.0.0.1")

# Log-in: one shared password (JupyterHub 5.3+ deprecates DummyAuthenticator's password for this one).
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = os.environ["KIT_HUB_PASSWORD"]
c.Authenticator.allow_all = True  # any name with the password: the room's learners pick their own

# The hub's files in its state folder, none in the repository or the working directory.
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# Addresses: learners reach the proxy; the hub's and the proxy's own APIs stay on loopback, on free ports
# (a second hub on the machine, or the test's, does not clash with the first).
c.JupyterHub.bind_url = f"http://{ip}:{os.environ.get('KIT_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('KIT_HUB_API_PORT') or _free_port()}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('KIT_HUB_PROXY_API_PORT') or _free_port()}"
c.ConfigurableHTTPProxy.command = [os.environ.get(
    "KIT_HUB_PROXY", os.path.join(os.environ.get("KIT_HUB_CACHE", "/var/cache/kit-hub"),
                                  "node_modules", ".bin", "configurable-http-proxy"))]

# Learners' servers: local processes of the hub's own user, each in its own home, with the kit's Python.
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]  # the hub's Python, whatever PATH says
c.Spawner.args = ["--allow-root"] if os.getuid() == 0 else []  # a root hub's servers are root too
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
# A machine busy with other learners' builds starts a server slowly: more than the default 60 s / 30 s.
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# LocalProcessSpawner's own list, and the engine's address: every learner's kernels reach the hub's engine.
c.LocalProcessSpawner.env_keep = ["CONDA_DEFAULT_ENV", "CONDA_ROOT", "JUPYTERHUB_SINGLEUSER_APP", "LANG", "LC_ALL",
                                  "LD_LIBRARY_PATH", "PATH", "PYTHONPATH", "VIRTUAL_ENV", "DOCKER_HOST",
                                  "DOCKER_CONFIG"]
c.Spawner.environment = {
    "KIT_ROOM_DIR": room,  # every learner's checks in one folder, the instructor's room view reads it
    "KIT_MODE": "live",  # the engine, never the recording: a missing engine is an error a learner sees
    # One cache of measured layer sizes for the room: a layer (named by its digest) measures the same for every
    # learner, and a home of one's own would make each learner read and gzip every image again (about a
    # minute of both cores per learner in lessons 01-06). An instructor's run the day before fills it.
    "KIT_CACHE_DIR": str(cache_file().parent),
    # The kit's helpers for every kernel, before whatever the hub itself was given.
    "PYTHONPATH": os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
}

# A service for scripts: make learners, read their servers. Only with a token given.
if os.environ.get("KIT_HUB_SERVICE_TOKEN"):
    c.JupyterHub.services = [{"name": "kit-admin", "api_token": os.environ["KIT_HUB_SERVICE_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "kit-admin", "services": ["kit-admin"],
                                "scopes": ["admin:users", "admin:servers", "tokens", "list:users"]}]

# Stopping the hub stops the proxy and every learner's server (with their kernels): nothing is left.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
