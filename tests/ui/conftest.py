"""Browser tests of the live page: `commons-lab ui` in a subprocess, driven through Playwright in
Debian's Chromium (no browser download: the system package, launched headless, offline)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_S = 180  # ~10 s when idle; a cold start on a busy machine takes much longer

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: `apt-get install chromium` "
                    "(./lab test installs it)")
    return {**browser_type_launch_args, "executable_path": chromium, "args": CHROMIUM_ARGS}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory):
    """The page as users start it (`commons-lab ui --port N`). Its tests play rule-based and
    replayed runs: no LLM server is started, and none is reachable."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("ui") / "server.log"
    env = {**os.environ, "OLLAMA_HOST": "http://127.0.0.1:9"}  # nothing listens on port 9
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cli", "ui", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`commons-lab ui` exited with {proc.returncode}:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"`commons-lab ui` did not answer within {SERVER_START_S} s:\n"
                            + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def live_page(browser, ui_server):
    """One browser tab on the page for the module's tests (they continue each other's run).
    Requests to anything but the page's own server are recorded: the page must work offline."""
    context = browser.new_context(viewport={"width": 1600, "height": 1500})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.outside_requests = []
    page.on("request", lambda r: page.outside_requests.append(r.url)
            if not r.url.startswith((ui_server.rstrip("/"), "data:", "blob:")) else None)
    page.goto(ui_server)
    page.get_by_role("button", name="Step").wait_for(timeout=120_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def projector_tab(browser, ui_server):
    """Opens a new tab (a browser context of its own, as another student's) on the page at a
    projector's 1280x720, once the page has drawn; every tab closes with the module."""
    contexts = []

    def open_tab():
        context = browser.new_context(viewport={"width": 1280, "height": 720},
                                      accept_downloads=True)
        contexts.append(context)
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.goto(ui_server)
        page.locator(".cl-step").wait_for(timeout=120_000)
        return page

    yield open_tab
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where the tests leave their screenshots: $COMMONS_LAB_SCREENSHOTS, else a temp folder."""
    chosen = os.environ.get("COMMONS_LAB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
