"""What the browser tests share: Debian's Chromium driven by Playwright, and the app started
as `python app.py` would be for a person, on the real model.

A browser download cannot work offline, so the tests use /usr/bin/chromium (installed by
`make test`); without it they are skipped on a person's machine and fail in CI. Fixtures
(``browser``, ``shipped_app``) are in conftest.py.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(tmp_path, *extra):
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "EGOV_QA_DATA": str(tmp_path / "data")}
    index = [] if "--index" in extra else ["--index", str(tmp_path / "index")]
    command = [sys.executable, str(ROOT / "app.py"), "--port", str(port), *index, *extra]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return process, url
        except OSError:
            time.sleep(1)
    process.kill()
    raise AssertionError("the app did not start within 240 s")


def ask_in_browser(browser, url: str, question: str, viewport: dict | None = None):
    """Open the app, ask ``question`` with Enter, wait for the quote; returns the page and its alerts."""
    page = browser.new_page(viewport=viewport or {"width": 1400, "height": 1000})
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    page.wait_for_selector("#slide .slide-title", timeout=60_000)
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_selector("#slide mark", timeout=60_000)
    return page, alerts
