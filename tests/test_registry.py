"""Where a registry answers, the kit pulls the official image instead of making a local equivalent.

Docker Hub is out of reach here, so the test runs a real registry (Debian's docker-registry, the
CNCF distribution server) on a free loopback port, pushes an image to it, and points one catalog
base's official name at it. An engine in a network namespace of its own (scripts/engine-docker26.sh)
cannot reach this machine's loopback: KIT_TEST_REGISTRY_ADDR then names the address of this machine
that the engine reaches and trusts without TLS (its insecure-registries), and the registry listens there.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace

import pytest
from support import free_port, skip_or_fail, wait_for_http

from helpers import bases
from helpers.bases import BaseState
from helpers.catalog import BASES
from helpers.errors import BaseImageMissing
from helpers.store import has_image

pytestmark = pytest.mark.docker

REGISTRY = shutil.which("docker-registry")


@pytest.fixture(scope="module")
def registry(tmp_path_factory, docker_engine):
    """Run a registry on 127.0.0.1 (which Docker trusts without TLS), or KIT_TEST_REGISTRY_ADDR; return its host:port."""
    addr = os.environ.get("KIT_TEST_REGISTRY_ADDR", "127.0.0.1")
    if REGISTRY is None:
        skip_or_fail("docker-registry is not installed: `make test` installs it (scripts/engine-up.sh)")
    port = free_port(addr)
    root = tmp_path_factory.mktemp("registry")
    config = root / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {root / 'data'}\nhttp:\n  addr: {addr}:{port}\n"
    )
    proc = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://{addr}:{port}/v2/", proc, 30, "the registry")
        yield f"{addr}:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _push(client, source: str, ref: str) -> None:
    repo, tag = ref.rsplit(":", 1)
    client.images.get(source).tag(repo, tag)
    for chunk in client.api.push(repo, tag=tag, stream=True, decode=True):
        assert "error" not in chunk, chunk
    client.images.remove(ref)


def test_pull_shows_progress_and_brings_the_image(registry, docker_engine) -> None:
    ref = f"{registry}/kit-test/busybox:1"
    _push(docker_engine, BASES["alpine"].local or "", ref)
    said: list[str] = []
    try:
        bases.pull(ref, say=said.append)
        assert has_image(ref)
        # Docker says "Pull complete", Podman "Download complete" (its layers "Already exists" here).
        assert any(x in s for s in said for x in ("Pull complete", "Download complete", "Downloaded newer image")), said
    finally:
        docker_engine.images.remove(ref)


def test_a_present_base_is_kept_and_the_official_one_pulled_only_when_asked(registry, docker_engine, monkeypatch) -> None:
    official = f"{registry}/library/alpine:3.16"
    _push(docker_engine, BASES["alpine"].local or "", official)
    monkeypatch.setitem(BASES, "alpine", replace(BASES["alpine"], official=official))
    try:
        said: list[str] = []
        bases.ensure_all(say=said.append, offline=False)  # the local equivalent is here: used as it is
        assert said == [] and not has_image(official)
        states = {s.key: s.state for s in bases.ensure_all(say=lambda s: None, offline=False, pull_present=True)}
        assert states["alpine"] is BaseState.OFFICIAL
        used = bases.resolve("RUNTIME_IMAGE", "alpine")
        assert used.used == official and not used.local_equivalent
    finally:
        if has_image(official):
            docker_engine.images.remove(official)


def test_a_registry_that_lacks_the_image_is_one_clear_error(registry) -> None:
    with pytest.raises(BaseImageMissing, match="pulling it failed") as err:
        bases.pull(f"{registry}/kit-test/nothing-here:1", say=lambda s: None)
    assert "registry said" in err.value.detail
