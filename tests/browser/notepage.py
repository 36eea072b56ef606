"""Drive the note page the way a person does: through the DOM only.

The page exposes no test hooks. Everything here reads what a person sees (or
what assistive technology reads: ``data-state`` attributes next to the labels).
Playwright's string expressions are evaluated with ``eval``, which the page's
CSP forbids, so every in-page predicate here is written as a function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playwright.sync_api import BrowserContext, Locator, Page, expect

T = TypeVar("T")

DEFAULT_TIMEOUT_MS = 10_000
IDENTITY_KEY = "collab-notes:identity"

# The editor's text, without the widgets y-codemirror and CodeMirror put inside lines
# (remote carets carry their owner's name; an empty note shows a placeholder).
EDITOR_TEXT_JS = """() => {
  const content = document.querySelector('#editor .cm-content')
  if (!content) return null
  const copy = content.cloneNode(true)
  copy.querySelectorAll('.cm-ySelectionCaret, .cm-placeholder, .cm-widgetBuffer')
    .forEach((node) => node.remove())
  return Array.from(copy.querySelectorAll('.cm-line'), (line) => line.textContent).join('\\n')
}"""

WAIT_FOR_TEXT_JS = """([want, mode]) => {
  const text = (EDITOR_TEXT)()
  if (text === null) return false
  return mode === 'equals' ? text === want : text.includes(want)
}""".replace("EDITOR_TEXT", EDITOR_TEXT_JS)

# How many records an object store of this page's IndexedDB holds: `[database, store]`
# (y-indexeddb's 'updates' of a note's local copy, uploadqueue.js's waiting 'files').
COUNT_RECORDS_JS = """async ([name, store]) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open(name)
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  try {
    return await new Promise((resolve, reject) => {
      const count = db.transaction(store).objectStore(store).count()
      count.onsuccess = () => resolve(count.result)
      count.onerror = () => reject(count.error)
    })
  } finally {
    db.close()
  }
}"""

# Whether the service worker controls the page and keeps the page `path`, so that it
# reloads offline (sw.js).
KEPT_OFFLINE_JS = """async (path) => {
  const registration = await navigator.serviceWorker.ready
  if (!registration.active || navigator.serviceWorker.controller === null) return false
  return Boolean(await caches.match(path))
}"""


def wait_until(
    check: Callable[[], T],
    timeout_s: float = 10.0,
    interval_s: float = 0.05,
    message: str = "condition",
) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {message}")
        time.sleep(interval_s)


def search_for(page: Page, label: str, query: str, state: str, timeout_s: float = 5) -> None:
    """Search with the box called ``label`` until the state line says ``state`` (the
    index follows commits within 2 s, so a first answer may come before it).

    The results are ``aria-busy`` from a keystroke until the answer to it is shown.
    """
    box = page.get_by_role("searchbox", name=label)
    results = page.locator("#search-results")

    def answered() -> bool:
        box.fill("")
        box.fill(query)
        expect(results).not_to_have_attribute("aria-busy", "true")
        return page.locator("#search-state").inner_text() == state

    wait_until(answered, timeout_s=timeout_s, interval_s=0.2, message=f"{query!r}: {state}")


@dataclass
class Person:
    """One browser profile (a Playwright context): its own localStorage, IndexedDB and name."""

    context: BrowserContext
    name: str
    problems: list[str] = field(default_factory=list)

    def open(self, url: str) -> NoteTab:
        """A new tab on ``url``."""
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.goto(url)
        return NoteTab(page)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP violation: {message.text}")


PersonFactory = Callable[..., Person]
"""The ``person`` fixture: ``person("Ana")`` is a fresh browser profile for Ana."""


class NoteTab:
    """One open note page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    # -- what is on screen -------------------------------------------------------------

    @property
    def connection(self) -> Locator:
        return self.page.locator("#connection")

    @property
    def save_state(self) -> Locator:
        return self.page.locator("#save-state")

    @property
    def editor(self) -> Locator:
        return self.page.locator("#editor .cm-content")

    @property
    def preview(self) -> Locator:
        return self.page.locator("#preview")

    @property
    def people(self) -> Locator:
        return self.page.locator("#presence .person")

    @property
    def toasts(self) -> Locator:
        return self.page.locator("#toasts .toast")

    def text(self) -> str:
        value: str | None = self.page.evaluate(EDITOR_TEXT_JS)
        assert value is not None, "the editor is not on the page"
        return value

    def names_present(self) -> list[str]:
        return self.page.locator("#presence .person .name").all_inner_texts()

    def state_of_save(self) -> str | None:
        return self.save_state.get_attribute("data-state")

    # -- waiting -----------------------------------------------------------------------

    def wait_ready(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> NoteTab:
        """Connected and in sync; for an editor, also confirmed saved."""
        expect(self.connection).to_have_attribute("data-state", "online", timeout=timeout_ms)
        if self.page.locator("body").get_attribute("data-role") == "editor":
            expect(self.save_state).to_have_attribute("data-state", "saved", timeout=timeout_ms)
        return self

    def wait_saved(self, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        expect(self.save_state).to_have_attribute("data-state", "saved", timeout=timeout_ms)

    def wait_text(
        self, want: str, *, exact: bool = False, timeout_ms: int = DEFAULT_TIMEOUT_MS
    ) -> None:
        """Wait until the editor shows ``want`` (contains it, or equals it with ``exact``)."""
        mode = "equals" if exact else "contains"
        try:
            self.page.wait_for_function(WAIT_FOR_TEXT_JS, arg=[want, mode], timeout=timeout_ms)
        except Exception as error:
            shown = self.text()
            raise AssertionError(f"editor never showed {want!r}; it shows {shown!r}") from error

    def wait_names(self, *names: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        """Wait until exactly these people are shown present, in any order."""
        wait_until(
            lambda: sorted(self.names_present()) == sorted(names),
            timeout_ms / 1000,
            message=f"presence {sorted(names)}, shown {self.names_present()}",
        )

    # -- doing -------------------------------------------------------------------------

    def type(self, text: str, delay_ms: float = 0) -> None:
        """Type at the end of the note, as keystrokes."""
        self.editor.click()
        self.page.keyboard.press("Control+End")
        self.page.keyboard.type(text, delay=delay_ms)

    def rename(self, name: str) -> None:
        field = self.page.locator("#my-name")
        field.fill(name)
        field.press("Tab")

    def type_at_end_of(self, line: str, text: str) -> None:
        """Type ``text`` at the end of the editor's line that contains ``line``."""
        self._click_line(line, end=True)
        self.page.keyboard.type(text)

    def delete_lines(self, first: str, count: int) -> None:
        """Select ``count`` lines from the one containing ``first`` by keyboard, and delete them."""
        self._click_line(first, end=False)
        for _ in range(count):
            self.page.keyboard.press("Shift+ArrowDown")
        self.page.keyboard.press("Delete")

    def _click_line(self, line: str, *, end: bool) -> None:
        """Put the caret at the end (or the start) of the line containing ``line``: a
        click in its last (or first) row's corner. End and Home go to the end of the
        row clicked, and a long line wraps: "Live from Ben." was typed into as
        "Live | from Ben." when the click fell on the first of two rows."""
        found = self.page.locator("#editor .cm-line", has_text=line)
        box = found.bounding_box()
        assert box is not None, f"no line with {line!r} is shown"
        corner = {"x": box["width"] - 1, "y": box["height"] - 2} if end else {"x": 1, "y": 2}
        found.click(position=corner)
        self.page.keyboard.press("End" if end else "Home")

    def history(self) -> HistoryView:
        """Open the History view."""
        return HistoryView(self.page).open()


class HistoryView:
    """The History dialog of a note page, driven as a person would."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.dialog = page.locator("#history-dialog")

    @property
    def entries(self) -> Locator:
        """The timeline's entries, newest first."""
        return self.dialog.locator(".version-entry")

    @property
    def detail(self) -> Locator:
        return self.dialog.locator("section.version")

    @property
    def diff(self) -> Locator:
        return self.dialog.locator(".diff")

    def open(self) -> HistoryView:
        self.page.locator("#history-open").click()
        expect(self.dialog).to_be_visible()
        expect(self.entries.first).to_be_visible()
        return self

    def select(self, index: int) -> Locator:
        """Show entry ``index`` (0 is the newest); returns it once its version is loaded."""
        entry = self.entries.nth(index)
        entry.click()
        expect(entry).to_have_attribute("aria-current", "true")
        expect(self.detail).not_to_have_attribute("aria-busy", "true")
        expect(self.dialog.locator(".version-body")).to_be_visible()
        return entry

    def choose(self, option: str) -> None:
        """Press one of the view's toggles, by its label ("Side by side", "Rendered"…)."""
        self.dialog.get_by_role("button", name=option, exact=True).click()

    def restore(self) -> None:
        """Restore the version shown, confirming; returns once the request is sent."""
        self.dialog.get_by_role("button", name="Restore this version…").click()
        self.dialog.get_by_role("button", name="Restore", exact=True).click()
