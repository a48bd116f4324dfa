"""Binder's environment.yml and the README's set-up (requirements.txt) install the same packages.

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import re

from helpers.catalog import REPO


def pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        m = re.match(r"^\s*(?:-\s+)?([A-Za-z0-9_.\-]+)==([\w.]+)\s*$", line)
        if m:
            out[m[1].lower()] = m[2]
    return out


def test_environment_yml_matches_requirements() -> None:
    req = pins((REPO / "requirements.txt").read_text().splitlines())
    env_text = (REPO / "environment.yml").read_text()
    env = pins(env_text.split("- pip:", 1)[1].splitlines())
    assert req and env == req


def test_binder_reads_the_root_environment() -> None:
    # repo2docker prefers binder/ or .binder/, and a root Dockerfile replaces the whole Binder build.
    assert not (REPO / "binder").exists() and not (REPO / ".binder").exists()
    assert not (REPO / "Dockerfile").exists()


def test_binder_post_build_installs_the_helpers_and_settings() -> None:
    post = REPO / "postBuild"
    assert post.stat().st_mode & 0o111, "postBuild must be executable"
    text = post.read_text()
    assert "pip install --no-deps -e ." in text and "scripts/jupyterlab-overrides.json" in text
    assert (REPO / "scripts" / "jupyterlab-overrides.json").is_file()
