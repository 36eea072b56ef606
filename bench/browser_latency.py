"""Keystroke latency between two browser tabs, and the size of the bundle: printed.

    .venv/bin/python bench/browser_latency.py                    # 300 keys at 40 a second
    .venv/bin/python bench/browser_latency.py --keystrokes 1000  # a longer sample

* keystroke latency: from a keydown in one tab to the character appearing in
  another tab's editor, through a ``collab-notes serve`` process on a fresh SQLite
  file (which commits every edit before it relays it); median, p95 and max;
* the size of what a browser downloads for a page (``web/static/app.js`` and
  ``app.css``), raw and gzipped.

Both tabs are pages of one Debian Chromium (``/usr/bin/chromium``, through
Playwright) on this machine, so ``performance.timeOrigin + now()`` is one clock
for both. It was ``tests/browser/test_measurements.py`` until it moved here: it
measures, and asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect, sync_playwright

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from history.server import Server  # noqa: E402

STATIC = BENCH.parent / "web" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

RECORD_KEYDOWNS = """() => {
  window.__keydowns = []
  document.addEventListener('keydown', () => {
    window.__keydowns.push(performance.timeOrigin + performance.now())
  }, true)
}"""

# The last line's length, not counting remote carets (they carry their owner's name).
RECORD_ARRIVALS = """() => {
  const content = document.querySelector('#editor .cm-content')
  const lastLineLength = () => {
    const line = content.querySelector('.cm-line:last-child')
    let length = line.textContent.length
    for (const caret of line.querySelectorAll('.cm-ySelectionCaret')) {
      length -= caret.textContent.length
    }
    return length
  }
  window.__arrivals = []
  new MutationObserver(() => {
    const now = performance.timeOrigin + performance.now()
    while (window.__arrivals.length < lastLineLength()) window.__arrivals.push(now)
  }).observe(content, { childList: true, subtree: true, characterData: true })
}"""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def open_ready(page: Page, url: str) -> Page:
    """The note open, connected and its editor's state saved."""
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "online", timeout=20_000)
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved", timeout=20_000)
    return page


def keystroke_latencies(url: str, keystrokes: int, delay_ms: int) -> list[float]:
    """Type ``keystrokes`` keys in one tab; each one's delay until the other tab shows it."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        typist = open_ready(browser.new_context().new_page(), url)
        reader = open_ready(browser.new_context().new_page(), url)
        typist.locator("#editor .cm-content").click()
        typist.keyboard.press("Control+End")  # the caret on the empty last line
        reader.evaluate(RECORD_ARRIVALS)
        typist.evaluate(RECORD_KEYDOWNS)
        typist.keyboard.type("abcdefghij" * (keystrokes // 10), delay=delay_ms)
        deadline = time.monotonic() + 60
        while reader.evaluate("() => window.__arrivals.length") < keystrokes:
            if time.monotonic() > deadline:
                raise TimeoutError("not every keystroke reached the other tab within 60 s")
            time.sleep(0.05)
        sent: list[float] = typist.evaluate("() => window.__keydowns")
        arrived: list[float] = reader.evaluate("() => window.__arrivals")
        browser.close()
    return [seen - typed for typed, seen in zip(sent, arrived[: len(sent)], strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=300, help="a multiple of 10")
    parser.add_argument("--delay-ms", type=int, default=25, help="between keys (25: 40 a second)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="collab-latency-") as folder:
        database = Path(folder) / "notes.db"
        with Server(f"sqlite:///{database}", Path(folder) / "server.log") as server:
            note = httpx.post(
                server.url + "/api/notes", json={"content": "# Latency\n\n"}, timeout=10
            )
            note.raise_for_status()
            latencies = keystroke_latencies(
                server.url + note.json()["url"], args.keystrokes, args.delay_ms
            )
    print(
        f"keystroke -> other tab, {args.keystrokes} keys at {1000 // args.delay_ms}/s: "
        f"median {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms"
    )
    for name in ("app.js", "app.css"):
        data = (STATIC / name).read_bytes()
        print(
            f"{name}: {len(data) / 1024:.1f} KiB raw, "
            f"{len(gzip.compress(data, 9)) / 1024:.1f} KiB gzip"
        )


if __name__ == "__main__":
    main()
