"""A real browser: JupyterLab in Chromium, driven by Playwright, runs lessons 04 and 05 as a learner would.

Checks what a learner sees: lesson 04's size chart drawn with one bar per variant; in lesson 05 a
changed widget choice, then a build that adds a bar to the chart. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from helpers import VARIANTS
from helpers.catalog import REPO
from helpers.cleanup import kit_containers
from support import free_port, wait_for_http

pytestmark = [pytest.mark.docker, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """Start JupyterLab on a free loopback port, on a copy of the lessons (autosave must not touch git)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        msg = "Chromium is not installed: `make test` installs it (scripts/browser-up.sh)"
        if os.environ.get("CI") or os.environ.get("KIT_REQUIRE_ENGINE"):
            pytest.fail(msg)
        pytest.skip(msg)
    pytest.importorskip("playwright")
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(REPO / "notebooks", work / "notebooks")
    port, token = free_port(), uuid.uuid4().hex
    log = open(work / "jupyter.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={work / 'notebooks'}",
         f"--LabApp.user_settings_dir={work / 'settings'}", f"--LabApp.workspaces_dir={work / 'workspaces'}"],
        stdout=log, stderr=subprocess.STDOUT, cwd=work, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{url}/api/status?token={token}", proc, 60, "JupyterLab")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}:\n" + (work / "jupyter.log").read_text()[-3000:]) from None
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _open_and_run_all(browser, lab, notebook: str, done_text: str):
    url, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    # A workspace of its own per lesson, so the page holds this notebook only (Run All acts on it).
    page.goto(f"{url}/lab/workspaces/{notebook.split('-')[0]}/tree/{notebook}?token={token}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached", timeout=120_000)
    assert page.locator(".jp-NotebookPanel").count() == 1
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # Wait for the last cell's printed check in an output area (the same words are in its source).
    # "attached", not "visible": JupyterLab may skip laying out cells scrolled out of view.
    page.locator(".jp-OutputArea-output", has_text=done_text).first.wait_for(state="attached", timeout=900_000)
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0
    return page


def _show_chart(page) -> None:
    """Wait for the first plotly chart, and scroll it into view as a learner would."""
    page.wait_for_selector(".js-plotly-plot .trace.bars", state="attached", timeout=60_000)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()


def _bars(page, index: int = 0) -> int:
    """Return the number of x values of a rendered plotly chart's first trace (one per bar)."""
    return page.evaluate(
        "(i) => { const el = document.querySelectorAll('.js-plotly-plot')[i]; return el ? el.data[0].x.length : -1; }",
        index,
    )


def _drawn_bars(page, index: int = 0) -> int:
    """Count the bars plotly actually drew (SVG paths) in a chart's first trace."""
    return page.evaluate(
        "(i) => document.querySelectorAll('.js-plotly-plot')[i].querySelectorAll('.trace.bars')[0]"
        ".querySelectorAll('.point path').length",
        index,
    )


def test_lesson_04_draws_one_bar_per_variant(browser, lab) -> None:
    page = _open_and_run_all(browser, lab, "04-compare.ipynb", "checked: Debian > Alpine-like")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        _show_chart(page)
        assert _bars(page, 0) == len(VARIANTS)
        assert _drawn_bars(page, 0) == len(VARIANTS)
        assert "Image size per variant" in page.inner_text(".js-plotly-plot >> nth=0")
        # The kit switches off JupyterLab's "news?" pop-up, which would cover the lesson.
        assert page.get_by_text("official Jupyter news").count() == 0
    finally:
        page.screenshot(path=str(SHOTS / "04-compare.png"), full_page=True)
        page.close()


def test_lesson_05_a_changed_choice_adds_a_bar(browser, lab) -> None:
    page = _open_and_run_all(browser, lab, "05-choose-your-base.ipynb", "checked: golang-alpine -> distroless")
    try:
        _show_chart(page)
        before = _bars(page, 0)
        assert before == len(VARIANTS) + 1  # every variant, and the default pair built by a plain call
        runtime = page.locator(".widget-dropdown select").nth(1)
        runtime.select_option(label=runtime.locator("option", has_text="alpine:3.16").first.inner_text())
        page.get_by_role("button", name="Build and run").click()
        page.wait_for_function(
            "(n) => { const el = document.querySelectorAll('.js-plotly-plot')[0];"
            " return el && el.data && el.data[0].x.length === n; }",
            arg=before + 1, timeout=600_000,
        )
        assert _drawn_bars(page, 0) == before + 1
        assert "golang:1.19.3-alpine3.16 -> alpine:3.16" in page.evaluate(
            "() => document.querySelectorAll('.js-plotly-plot')[0].data[0].x.join('|')")
    finally:
        page.screenshot(path=str(SHOTS / "05-choose-your-base.png"), full_page=True)
        page.close()


def test_the_browser_left_no_container_behind(browser, lab) -> None:
    assert kit_containers() == []
