"""Numbers for the release notes, printed (``pytest -s``), never asserted.

* keystroke latency: from a keydown in one tab to the character appearing in
  another tab's editor, through the server (which commits before it relays);
* the size of the bundle a browser downloads, raw and gzipped.
"""

from __future__ import annotations

import gzip
import statistics
from pathlib import Path

import pytest
from browser.notepage import PersonFactory, wait_until
from support.server import ServerProcess

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "web" / "static"
KEYSTROKES = 300
TYPING_DELAY_MS = 25  # a fast typist: 40 keys a second

# Both tabs run in one browser on one machine, so timeOrigin + now() is one clock.
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


def test_measure_keystroke_latency_between_two_tabs(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Latency\n\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ana.type("")  # caret on the empty last line
    ben.page.evaluate(RECORD_ARRIVALS)
    ana.page.evaluate(RECORD_KEYDOWNS)

    ana.page.keyboard.type("abcdefghij" * (KEYSTROKES // 10), delay=TYPING_DELAY_MS)
    wait_until(
        lambda: ben.page.evaluate("() => window.__arrivals.length") >= KEYSTROKES,
        message="every keystroke to reach the other tab",
    )
    sent: list[float] = ana.page.evaluate("() => window.__keydowns")
    arrived: list[float] = ben.page.evaluate("() => window.__arrivals")
    assert len(sent) == KEYSTROKES
    latencies = [seen - typed for typed, seen in zip(sent, arrived, strict=True)]
    print(
        f"\nkeystroke -> other tab, {KEYSTROKES} keys at {1000 // TYPING_DELAY_MS}/s: "
        f"median {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms"
    )


def test_measure_the_bundle_size() -> None:
    for name in ("app.js", "app.css"):
        data = (STATIC / name).read_bytes()
        print(
            f"\n{name}: {len(data) / 1024:.1f} KiB raw, "
            f"{len(gzip.compress(data, 9)) / 1024:.1f} KiB gzip",
            end="",
        )
    print()
