"""How fast the browser page steps: from a click on Step to the redrawn charts in headless Chromium.

Serves ``clustersim viz SCENARIO`` on a free port of 127.0.0.1, opens it in Debian's chromium (driven by
playwright), clicks Step ``--steps`` times and times each click until every figure has been redrawn.
The click is timed inside the page (from the click to the animation frame where the new quarter and the
three new figures show). References measured in the same run: the model's own step (``model.step()``
alone) and the server-side work of one step (the model step plus the page's figures drawn, no browser), so
the ratios show what the figures and the browser round trip add.

    python benchmarks/bench_viz.py [SCENARIO] [--steps 20] [--screenshot docs/figures/viz.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _server_side(scenario: Path, steps: int) -> tuple[float, float]:
    """Median seconds of a model step alone, and of a step with the page's figures drawn (what the server
    does: the page's own panel functions, outside the browser)."""
    from clustersim.app.viz import ExploreModel, components

    bare, full = [], []
    m = ExploreModel(str(scenario))
    for _ in range(steps):
        t = time.perf_counter()
        m.step()
        bare.append(time.perf_counter() - t)
    m = ExploreModel(str(scenario))
    panels = [f for f, _page in components() if f.__name__ != "_settings"]  # _settings needs a page context
    for _ in range(steps):
        t = time.perf_counter()
        m.step()
        for panel in panels:
            panel(m)
        full.append(time.perf_counter() - t)
    return statistics.median(bare), statistics.median(full)


#: one click on Step, timed inside the page: from the click to the frame where the quarter shows k and every
#: figure has a new, decoded image (checked at each animation frame: the timing is the browser's own, not
#: playwright's polling, which waits up to half a second between looks)
_CLICK = """async (k) => {
  const imgs = () => [...document.querySelectorAll('img.widget-image')];
  const before = imgs().map(i => i.src);
  const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Step');
  const t0 = performance.now();
  button.click();
  await new Promise(resolve => {
    const look = () => {
      const now = imgs();
      const shown = document.body.textContent.includes(`Time: ${k}.0`);
      const drawn = now.length >= 3 && now.slice(0, 3).every((im, i) => im.src !== before[i] && im.complete
                                                                         && im.naturalWidth > 0);
      if (shown && drawn) resolve(); else requestAnimationFrame(look);
    };
    look();
  });
  return (performance.now() - t0) / 1000;
}"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", type=Path, default=ROOT / "configs" / "baseline.yaml")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--screenshot", type=Path, help="save a screenshot of the page after the steps")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "clustersim.app.cli", "viz", str(args.scenario),
                             "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        t0 = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                if time.perf_counter() - t0 > 90:
                    raise SystemExit("the page did not come up") from None
                time.sleep(0.3)
        served = time.perf_counter() - t0
        clicks = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1150})
            t1 = time.perf_counter()
            page.goto(url)
            page.get_by_text("Time: 0").wait_for(timeout=90_000)
            srcs = "els => els.map(e => e.complete && e.naturalWidth > 0 ? e.src : '')"
            while not (lambda im: len(im) >= 3 and all(im))(page.eval_on_selector_all("img.widget-image", srcs)):
                page.wait_for_timeout(50)
            first_paint = time.perf_counter() - t1
            for k in range(1, args.steps + 1):
                clicks.append(page.evaluate(_CLICK, k))
                page.get_by_text(f"Time: {k}.0").wait_for(timeout=60_000)
            if args.screenshot:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.screenshot))
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
    bare, full = _server_side(args.scenario, args.steps)
    browser_step = statistics.median(clicks)
    print(json.dumps({
        "scenario": str(args.scenario), "steps": args.steps, "server_start_seconds": round(served, 2),
        "first_paint_seconds": round(first_paint, 2),
        "browser_step_median_seconds": round(browser_step, 3), "browser_step_max_seconds": round(max(clicks), 3),
        "model_step_median_seconds": round(bare, 4), "server_step_with_figures_median_seconds": round(full, 3),
        "browser_step_over_model_step": round(browser_step / bare, 1),
        "browser_step_over_server_work": round(browser_step / full, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
