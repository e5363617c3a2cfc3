"""The browser page, served by ``clustersim viz`` and driven in real headless Chromium.

Debian's ``chromium`` (installed by .ci/setup with apt-get when missing) is driven by the Python
``playwright`` package pointed at the system executable: no browser download. The test checks that the
page loads offline (no request leaves 127.0.0.1, none fails), that the network and charts render, that
Step advances time and redraws the charts, and that a slider change followed by Reset rebuilds the model
with the new value. On failure a screenshot is kept in ``results/test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "results" / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _requirements() -> str | None:
    """Why the browser test cannot run here, or None. In CI everything must be there: no skip."""
    import importlib.util

    for module in ("playwright", "solara", "altair"):
        if importlib.util.find_spec(module) is None:
            return f"python package {module} missing (pip install -e '.[test]')"
    if shutil.which("chromium") is None:
        return "Debian's chromium is not installed (apt-get install chromium)"
    return None


_why = _requirements()
if _why and os.environ.get("CI"):
    raise RuntimeError(f"the browser test must run in CI: {_why}")
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    log = ARTIFACTS / "viz-server.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "clustersim.app.cli", "viz",
                                 str(ROOT / "configs" / "baseline.yaml"),
                                 "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            os.killpg(proc.pid, signal.SIGTERM)
            pytest.fail(f"clustersim viz did not serve {url} (exit {proc.poll()}); log:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _images(page) -> list[str]:
    """The sources of the rendered figures (image widgets: a new blob URL whenever a figure is redrawn), in
    page order; '' for an image not loaded yet."""
    return page.eval_on_selector_all("img.widget-image",
                                     "els => els.map(e => e.complete && e.naturalWidth > 0 ? e.src : '')")


def _wait_for(page, predicate, what: str, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"timed out waiting for {what}")


def test_page_renders_steps_and_resets_with_a_new_slider_value(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        outside, failed = [], []
        page.on("request", lambda r: outside.append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", None) and not r.url.startswith("data:") else None)
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        try:
            page.goto(server)
            page.get_by_text("Time: 0").wait_for(timeout=90_000)
            # the network, the clusters panel and the indicator charts are drawn
            images = _wait_for(page, lambda: (lambda im: im if len(im) >= 3 and all(im) else None)(_images(page)),
                               "three rendered figures")
            assert page.get_by_text("baseline.yaml").first.is_visible()
            assert page.get_by_role("button", name="Step").is_visible()
            assert page.get_by_role("button", name="Reset").is_visible()
            # Step advances time and redraws the charts
            t0 = time.perf_counter()
            page.get_by_role("button", name="Step").click()
            page.get_by_text("Time: 1").wait_for(timeout=30_000)
            after = _wait_for(page, lambda: (lambda im: im if len(im) >= 3 and all(im) and im[2] != images[2]
                                             else None)(_images(page)), "the charts redrawn after Step")
            (ARTIFACTS / "viz-step-seconds.txt").write_text(f"{time.perf_counter() - t0:.3f}\n")  # a record only
            assert after[0] != images[0]  # the network (its title carries the quarter)
            page.get_by_text("quarter 1 of").first.wait_for(timeout=30_000)
            # another browser session has its own model, at quarter 0 while this one is at quarter 1
            other = browser.new_context().new_page()
            other.goto(server)
            other.get_by_text("Time: 0").wait_for(timeout=60_000)
            other.get_by_text("quarter 0 of").first.wait_for(timeout=30_000)
            other.context.close()
            assert page.get_by_text("Time: 1").is_visible()
            # a slider change, then Reset: the model is rebuilt with the new value
            slider = page.locator(".v-input", has_text="Firms in the region").get_by_role("slider")
            slider.focus()
            slider.press("Home")  # the slider's minimum: 40 firms
            assert slider.get_attribute("aria-valuenow") == "40"
            page.get_by_text("Firms in the region: 300").wait_for(timeout=5_000)  # not before Reset
            page.get_by_role("button", name="Reset").click()
            page.get_by_text("Firms in the region: 40").wait_for(timeout=60_000)
            page.get_by_text("Time: 0").wait_for(timeout=30_000)
            _wait_for(page, lambda: (lambda im: im if len(im) >= 3 and all(im) and im[0] != after[0]
                                     else None)(_images(page)), "the network redrawn after Reset")
            page.get_by_text("quarter 0 of").first.wait_for(timeout=30_000)
            assert not outside, f"the page asked for resources off this machine: {outside[:5]}"
            assert not failed, f"requests failed: {failed[:5]}"
        except Exception as exc:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "viz-failure.png"
            page.screenshot(path=str(shot), full_page=True)
            exc.add_note(f"screenshot kept: {shot}")
            raise
        finally:
            browser.close()
