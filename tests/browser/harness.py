"""Real-browser harness: a fresh Streamlit server per test and Debian's Chromium driven by Playwright.

Never ``playwright install`` (it downloads a browser, which this network refuses): the browser is
Debian's ``chromium`` package, installed by ``make browser-deps``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from observatory.config import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
SERVER_SCRIPT = "serve.py"  # app.py served with its warm-up at start (as `make run` does)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
# A deep link makes the frontend probe these two URLs relative to the page path; Streamlit serves them
# at the root only. Harmless, documented in the stack notes: the only 404s we accept.
ALLOWED_404_SUFFIXES = ("/_stcore/health", "/_stcore/host-config")


LOCAL_HOSTS = ("127.0.0.1", "localhost")


def _is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "chrome", "chrome-extension"):
        return True
    return parts.hostname in LOCAL_HOSTS and parts.port != 9  # port 9: the « outside » address of the tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerURL(str):
    """The server's base URL (a string), with the path of its log (what the server prints)."""

    log_path: Path


@contextmanager
def streamlit_server(env_overrides: dict[str, str], timeout_s: float = 60, port: int | None = None,
                     script: str = SERVER_SCRIPT):
    """Start ``streamlit run serve.py`` (the app, warmed up) on ``port`` (default: a free one); yields the base
    URL; always stops the server. An explicit port keeps parallel test runs on a shared machine apart;
    ``script="app.py"`` serves the app without its warm-up (the benchmarks' naive baseline)."""
    port = port or free_port()
    env = {**os.environ, **env_overrides}
    log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as response:
                    if response.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Streamlit did not start: {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.2)
        url = ServerURL(base)
        url.log_path = Path(log.name)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class BrowserLog:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_responses: list[tuple[int, str]] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)  # network failures, with their URL
    outside_requests: list[str] = field(default_factory=list)  # any request to a host other than the app's

    def unexpected(self) -> list[str]:
        bad_responses = [
            f"{status} {url}" for status, url in self.failed_responses
            if not (status == 404 and url.split("?")[0].endswith(ALLOWED_404_SUFFIXES))
        ]
        allowed_404 = len(self.failed_responses) - len(bad_responses)
        # Chromium logs each failed resource as a console error without its URL: discount the allowed ones.
        resource_errors = [e for e in self.console_errors if e.startswith("Failed to load resource")]
        other_errors = [e for e in self.console_errors if not e.startswith("Failed to load resource")]
        extra_resource_errors = resource_errors[allowed_404:]
        return bad_responses + other_errors + extra_resource_errors + self.page_errors + [
            f"requête échouée : {url}" for url in self.failed_requests
        ] + [f"requête vers un autre hôte que l'application : {url}" for url in self.outside_requests]


def wait_for_background_warmup(base, timeout_s: float = 600) -> None:
    """Wait until a server of :func:`streamlit_server` has prepared every date and area in the background (its
    log says so), so that timings are not those of a machine still busy warming up."""
    from ui.warmup import VIEWS_READY

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if VIEWS_READY in Path(base.log_path).read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.5)


@contextmanager
def browser_page(width: int = 1400, height: int = 1000):
    """A Chromium page plus the log of its console errors, page errors and failed responses."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("Chromium de Debian absent : lancez `make browser-deps` (paquet chromium).")
    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height}, locale="fr-FR",
        )
        page = context.new_page()
        log = BrowserLog()
        page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("response", lambda r: log.failed_responses.append((r.status, r.url)) if r.status >= 400 else None)
        page.on("requestfailed", lambda r: log.failed_requests.append(f"{r.url} ({r.failure})"))
        # The observatory works with no outside traffic: every request must go to the app's own server.
        context.on("request", lambda r: None if _is_local(r.url) else log.outside_requests.append(r.url))
        try:
            yield page, log
        finally:
            context.close()


def wait_for_app(page, timeout_ms: int = 30000) -> None:
    """Wait until Streamlit has finished running the script (no running indicator, app view present)."""
    page.wait_for_selector('[data-testid="stAppViewContainer"]', timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )
    # Lazy elements (data grids, selects) first render as skeletons.
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
    )
    page.wait_for_timeout(800)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
