"""A real browser: JupyterLab in Chromium, driven by Playwright, runs lessons 04 and 05 as a learner would.

Checks what a learner sees: lesson 04's size chart drawn with one bar per variant; in lesson 05 a
changed widget choice, then a build that adds a bar to the chart. Screenshots go to artifacts/browser/;
on any failure the Jupyter server's log and its /api/kernels and /api/sessions go there too.

Run All is clicked only once the notebook's kernel is connected and idle, seen both on the page and by
the server: the toolbar's execution indicator says "idle" before any kernel exists, and a Run All
clicked then runs nothing (what the first `make test` on a fresh machine hit).

Tests of internals: they import the kit's modules, not only the lesson-facing `helpers`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple, TypeVar

import pytest

from helpers import VARIANTS
from helpers.bases import resolve
from helpers.catalog import REPO
from helpers.cleanup import kit_containers
from support import free_port, wait_for_http

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.docker, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = REPO / "artifacts" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
PAGE_LOAD_S = 120  # JupyterLab's first load on a cold machine (Python imports, fonts, a fresh browser profile)
KERNEL_READY_S = 120  # a kernel's first start on a cold machine: ipykernel's imports from a cold disk
STARTED_S = 30  # from the Run All click to the first cell queued or running
# Run All of lesson 04 or 05 builds every variant (7 images): with the layer cache (the suite's earlier
# tests build them) seconds each, ~20 s a lesson; all 7 with no variant cached took 72 s on the dev machine.
# 300 s leaves room for a slow engine, not for a hang.
LESSON_S = 300
# Lesson 05's "Build and run" builds one new pair on top of cached stages: seconds (the whole test ~18 s).
BUILD_S = 180

T = TypeVar("T")


class Lab(NamedTuple):
    """A running JupyterLab: its address, its token, and the file its server logs to."""

    url: str
    token: str
    log: Path


def _missing(msg: str) -> None:
    """Fail under CI or `make test` (KIT_REQUIRE_ENGINE), where a skip would hide a set-up step; else skip."""
    if os.environ.get("CI") or os.environ.get("KIT_REQUIRE_ENGINE"):
        pytest.fail(msg)
    pytest.skip(msg)


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[Lab]:
    """Start JupyterLab on a free loopback port, on a copy of the lessons (autosave must not touch git)."""
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        _missing("Chromium is not installed: `make test` installs it (scripts/browser-up.sh)")
    if importlib.util.find_spec("playwright") is None:
        _missing("Playwright is not installed: `make test` installs it (requirements-dev.txt)")
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
        yield Lab(url, token, work / "jupyter.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _api(lab: Lab, path: str) -> list[dict]:
    """Return the JSON the Jupyter server answers at ``path`` (e.g. /api/sessions)."""
    req = urllib.request.Request(f"{lab.url}{path}", headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def _kernel_of(lab: Lab, notebook: str) -> dict | None:
    """Return the server's model of the kernel of ``notebook``'s session, or None if it has none yet."""
    for session in _api(lab, "/api/sessions"):
        if session.get("path") == notebook and session.get("kernel"):
            return session["kernel"]
    return None


def _poll(what: str, seconds: float, check: Callable[[], T | None], state: Callable[[], object]) -> T:
    """Call ``check`` until it returns a value; after ``seconds`` fail naming ``what`` and the last ``state``."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}; last seen: {state()}")
        time.sleep(0.5)


def _wait_for(locator: Locator, what: str, seconds: float, detail: Callable[[], str] = lambda: "") -> None:
    """Wait for ``locator`` to be in the page; on timeout fail naming ``what`` was awaited, and ``detail()``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(state="attached", timeout=seconds * 1000)
    except PlaywrightTimeout:
        pytest.fail(f"timed out after {seconds:.0f} s waiting for {what}. {detail()}".strip())


def _keep_evidence(page: Page | None, lab: Lab, stem: str) -> None:
    """Save a screenshot, the server's log, and its kernels and sessions, under a name no later run reuses."""
    name = f"{stem}.failed-{time.strftime('%Y%m%d-%H%M%S')}"
    kept = []
    if page is not None:
        try:
            page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=30_000)
            kept.append(f"{name}.png")
        except Exception as exc:  # a crashed page must not cost the rest of the evidence
            print(f"no screenshot: {exc}")
    try:
        shutil.copyfile(lab.log, SHOTS / f"{name}.jupyter.log")
        kept.append(f"{name}.jupyter.log")
    except OSError as exc:
        print(f"no server log: {exc}")
    api: dict[str, object] = {}
    for path in ("/api/kernels", "/api/sessions"):
        try:
            api[path] = _api(lab, path)
        except Exception as exc:
            api[path] = f"no answer: {exc}"
    (SHOTS / f"{name}.api.json").write_text(json.dumps(api, indent=2) + "\n")
    kept.append(f"{name}.api.json")
    print(f"evidence kept in {SHOTS}: {', '.join(kept)}")


@contextmanager
def _lesson_page(browser: Browser, lab: Lab, notebook: str) -> Iterator[Page]:
    """Give a fresh page; keep a screenshot after, and on any failure all of `_keep_evidence`."""
    stem = Path(notebook).stem
    SHOTS.mkdir(parents=True, exist_ok=True)  # before any wait, so a timeout can still leave evidence
    page = None
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        yield page
        page.screenshot(path=str(SHOTS / f"{stem}.png"), full_page=True, timeout=30_000)
    except BaseException:
        _keep_evidence(page, lab, stem)
        raise
    finally:
        if page is not None:
            try:
                page.close()
            except Exception:
                pass


# The status bar's kernel item, unlike the toolbar's execution indicator (which starts at "idle" before
# any kernel exists), is blank until a kernel is there and says "Idle" only once it is connected and idle.
PAGE_KERNEL_JS = """() => ({
  status: document.querySelector(".jp-StatusBar-TextItem[title^='Change kernel for']")?.textContent ?? null,
  indicator: document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status ?? null,
})"""


def _wait_until_ready(page: Page, lab: Lab, notebook: str) -> None:
    """Wait until the page and the server both see the notebook's kernel connected and idle, twice in a row."""
    _wait_for(page.locator(".jp-NotebookPanel .jp-Cell").first, f"the cells of {notebook}", PAGE_LOAD_S)
    seen: dict[str, object] = {}

    def ready() -> bool:
        seen["page"] = on_page = page.evaluate(PAGE_KERNEL_JS)
        seen["server"] = kernel = _kernel_of(lab, notebook)
        now = bool((on_page["status"] or "").endswith("| Idle") and on_page["indicator"] == "idle"
                   and kernel and kernel["execution_state"] == "idle" and kernel["connections"] >= 1)
        was, seen["ready"] = seen.get("ready", False), now
        return bool(was and now)

    start = time.monotonic()
    ready()
    first = dict(seen)
    _poll(f"the kernel of {notebook} to be connected and idle (status bar, and /api/sessions)", KERNEL_READY_S,
          ready, lambda: seen)
    print(f"{notebook}: kernel ready after {time.monotonic() - start:.1f} s (first seen: {first})")


def _prompts(page: Page) -> list[str]:
    """Return the input prompts of the notebook's code cells, e.g. ['[1]:', '[*]:', '[ ]:']."""
    return page.evaluate(
        "() => [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]"
        ".map(e => e.textContent.trim())")


def _running_cell(page: Page) -> str:
    """Describe the first code cell still queued or running ([*]), with the tail of its output."""
    return page.evaluate("""() => {
      const cells = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell')];
      const i = cells.findIndex(c => (c.querySelector('.jp-InputPrompt')?.textContent || '').includes('*'));
      if (i < 0) return 'no cell is running';
      const source = [...cells[i].querySelectorAll('.cm-line')].map(l => l.textContent).join(' | ').slice(0, 120);
      const output = (cells[i].querySelector('.jp-OutputArea')?.textContent || '').slice(-400);
      return `code cell ${i + 1} of ${cells.length} still runs: ${source} ... output so far: ${output}`;
    }""")


def _started(page: Page, lab: Lab, notebook: str, before: list[str]) -> str | None:
    """Say how execution shows it started (a `[*]` prompt, a new execution count, a busy kernel), or None."""
    now = _prompts(page)
    if any("*" in p for p in now):
        return "a cell shows [*]"
    if any(any(c.isdigit() for c in p) and (i >= len(before) or p != before[i]) for i, p in enumerate(now)):
        return "a cell shows a new execution count"
    kernel = _kernel_of(lab, notebook)
    if kernel and kernel["execution_state"] == "busy":
        return "the server sees the kernel busy"
    return None


def _open_and_run_all(page: Page, lab: Lab, notebook: str, done_text: str) -> None:
    """Open ``notebook``, Run All once its kernel is ready (retrying once), and wait for ``done_text``."""
    from playwright.sync_api import Error as PlaywrightError

    # A workspace of its own per lesson, so the page holds this notebook only (Run All acts on it).
    page.goto(f"{lab.url}/lab/workspaces/{notebook.split('-')[0]}/tree/{notebook}?token={lab.token}")
    failures = []
    for attempt in (1, 2):
        if attempt == 2:
            page.reload()
        _wait_until_ready(page, lab, notebook)
        assert page.locator(".jp-NotebookPanel").count() == 1
        before = _prompts(page)
        clicked, how = time.monotonic(), None
        try:
            page.locator(".jp-NotebookPanel .jp-Cell").first.click(timeout=STARTED_S * 1000)
            page.get_by_role("menuitem", name="Run", exact=True).click(timeout=STARTED_S * 1000)
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click(timeout=STARTED_S * 1000)
        except PlaywrightError as exc:
            failures.append(f"attempt {attempt}: clicking Run > Run All Cells failed: {exc.message.splitlines()[0]}")
        else:
            while how is None and time.monotonic() < clicked + STARTED_S:
                how = _started(page, lab, notebook, before)
                time.sleep(0.25)
            if how is None:
                failures.append(f"attempt {attempt}: no execution within {STARTED_S} s of Run All Cells "
                                f"(prompts {_prompts(page)}, server kernel {_kernel_of(lab, notebook)})")
        if how:
            print(f"{notebook}: attempt {attempt}: execution started {time.monotonic() - clicked:.1f} s "
                  f"after the click ({how})")
            break
        print(f"{notebook}: {failures[-1]}" + ("; reloading the page to retry" if attempt == 1 else ""))
    else:
        pytest.fail(f"Run All Cells never started {notebook}: " + "; ".join(failures))
    # Wait for the last cell's printed check in an output area (the same words are in its source), or a
    # traceback, which ends the wait early. "attached", not "visible": JupyterLab may skip laying out
    # cells scrolled out of view.
    # Not the stored copy of the check's output (marked as stored): the one this run printed.
    done = page.locator(".jp-OutputArea-output", has_text=done_text,
                        has_not_text="stored output of the kit's own run").first
    traceback = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                             has_text="Traceback")
    _wait_for(done.or_(traceback).first, f"{notebook} to print {done_text!r} (or a traceback)", LESSON_S,
              lambda: _running_cell(page))
    assert traceback.count() == 0, f"{notebook} raised:\n{traceback.first.inner_text()[-2000:]}"


def _show_chart(page: Page) -> None:
    """Wait for the first plotly chart, and scroll it into view as a learner would."""
    _wait_for(page.locator(".js-plotly-plot .trace.bars").first, "a plotly bar chart", 60)
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()


def _bars(page: Page, index: int = 0) -> int:
    """Return the number of categories of a rendered plotly chart's first trace (one per bar; bars lie flat)."""
    return page.evaluate(
        "(i) => { const el = document.querySelectorAll('.js-plotly-plot')[i]; return el ? el.data[0].y.length : -1; }",
        index,
    )


def _drawn_bars(page: Page, index: int = 0) -> int:
    """Count the bars plotly actually drew (SVG paths) in a chart's first trace."""
    return page.evaluate(
        "(i) => document.querySelectorAll('.js-plotly-plot')[i].querySelectorAll('.trace.bars')[0]"
        ".querySelectorAll('.point path').length",
        index,
    )


def test_lesson_04_draws_one_bar_per_variant(browser: Browser, lab: Lab) -> None:
    from playwright.sync_api import expect

    with _lesson_page(browser, lab, "04-compare.ipynb") as page:
        _open_and_run_all(page, lab, "04-compare.ipynb", "checked: Debian > Alpine-like")
        _show_chart(page)
        assert _bars(page, 0) == len(VARIANTS)
        assert _drawn_bars(page, 0) == len(VARIANTS)
        # The lesson runs on past its chart: wait for plotly to have drawn the title, not just the bars.
        expect(page.locator(".js-plotly-plot").first).to_contain_text("Image size per variant", timeout=30_000)
        # The kit switches off JupyterLab's "news?" pop-up, which would cover the lesson.
        assert page.get_by_text("official Jupyter news").count() == 0


def test_lesson_05_a_changed_choice_adds_a_bar(browser: Browser, lab: Lab) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with _lesson_page(browser, lab, "05-choose-your-base.ipynb") as page:
        _open_and_run_all(page, lab, "05-choose-your-base.ipynb", "checked: golang-alpine -> distroless")
        _show_chart(page)
        before = _bars(page, 0)
        assert before == len(VARIANTS) + 1  # every variant, and the default pair built by a plain call
        runtime = page.locator(".widget-dropdown select").nth(1)
        # By index: an option's label, read back as text, may not match it to the space (a CI run timed out so).
        index = runtime.evaluate("(s) => [...s.options].findIndex(o => o.text.includes('alpine:3.16'))")
        assert index >= 0, runtime.evaluate("(s) => [...s.options].map(o => o.text)")
        runtime.select_option(index=index)
        page.get_by_role("button", name="Build and run").click()
        try:
            page.wait_for_function(
                "(n) => { const el = document.querySelectorAll('.js-plotly-plot')[0];"
                " return el && el.data && el.data[0].y.length === n; }",
                arg=before + 1, timeout=BUILD_S * 1000,
            )
        except PlaywrightTimeout:
            pytest.fail(f"timed out after {BUILD_S} s waiting for the chart to grow to {before + 1} bars "
                        f"after 'Build and run' (it has {_bars(page, 0)})")
        assert _drawn_bars(page, 0) == before + 1
        # The new bar is named after the images really used (a local equivalent is never shown as official).
        used = " -> ".join(resolve(arg, key).used for arg, key in [("BUILDER_IMAGE", "golang-alpine"),
                                                                   ("RUNTIME_IMAGE", "alpine")])
        assert used in page.evaluate("() => document.querySelectorAll('.js-plotly-plot')[0].data[0].y.join('|')")


def test_the_browser_left_no_container_behind(browser: Browser, lab: Lab) -> None:
    assert kit_containers() == []
