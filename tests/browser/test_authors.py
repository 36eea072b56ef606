"""Who wrote what, and following a colleague, in Chromium with two or three people.

Authors: each run of text is tinted in its typist's presence colour and named on
hover, right after concurrent typing, live, after a reload, after a server restart
and after a restore (the restorer's, with the version). Follow: choosing a chip
keeps that person's caret in sight until one scrolls.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from browser.conftest import COLORS
from browser.notepage import NoteTab, PersonFactory, wait_until
from playwright.sync_api import expect
from support.server import MakeServer, ServerProcess

pytestmark = pytest.mark.browser

# [author, text, title, style] of every tinted run the editor shows.
RUNS_JS = """() => Array.from(document.querySelectorAll('#editor .cm-author'),
  (el) => [el.dataset.author, el.textContent, el.title, el.getAttribute('style')])"""

BEN_LINE = "Ben's budget line, which he deletes later."


@pytest.fixture
def server(make_server: MakeServer) -> ServerProcess:
    return make_server("--version-gap-s", "1").start()  # type: ignore[call-arg]


def rgba(color: str) -> str:
    """How the browser writes back ``#rrggbb`` with an alpha: "rgba(r, g, b"."""
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}"


def authored(tab: NoteTab) -> dict[str, str]:
    """Each author's text as the tinted runs show it (in order, runs joined)."""
    found: dict[str, str] = {}
    for author, text, _title, _style in tab.page.evaluate(RUNS_JS):
        found[author] = found.get(author, "") + text
    return found


def wait_authored(tab: NoteTab, author: str, text: str) -> None:
    wait_until(
        lambda: text in authored(tab).get(author, ""),
        message=f"{text!r} shown as {author}'s; shown: {authored(tab)}",
    )


def authors_on(tab: NoteTab) -> None:
    toggle = tab.page.locator("#authors-toggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(tab.page.locator("#authors-legend")).to_be_visible()


def test_authors_colour_each_run_by_its_typist_live_after_a_reload_a_restart_and_a_restore(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Plan\n")
    url = server.url + note["url"]
    ana = person("Ana").open(url).wait_ready()
    ben = person("Ben").open(url).wait_ready()
    ana.wait_names("Ana", "Ben")
    # Concurrent typing: neither waits for the other's words to arrive.
    ana.type("\nAna's opening words.")
    ben.type(f"\n{BEN_LINE}")
    ana.type("\nAna again.")
    for tab in (ana, ben):
        tab.wait_text("Ana again.")
        tab.wait_text(BEN_LINE)
        tab.wait_saved()

    authors_on(ana)
    wait_authored(ana, "Ana", "Ana's opening words.")
    wait_authored(ana, "Ana", "Ana again.")
    wait_authored(ana, "Ben", BEN_LINE)
    wait_authored(ana, "Anonymous", "# Plan")  # made over REST, by nobody named
    runs = ana.page.evaluate(RUNS_JS)
    today = datetime.now(UTC).strftime("%Y")
    for author, _text, title, style in runs:
        assert title.startswith(author) and today in title, (author, title)
        if author in COLORS:  # each in their presence colour, tinted
            assert rgba(COLORS[author]) in style, (author, style)
    legend = ana.page.locator("#authors-legend li")
    wait_until(lambda: sorted(legend.all_inner_texts()) == ["Ana", "Anonymous", "Ben"])

    ben.type_at_end_of(BEN_LINE, " Live from Ben.")  # new remote items: their author at once
    wait_authored(ana, "Ben", "Live from Ben.")
    ana.type_at_end_of("Ana again.", " Live from Ana.")
    wait_authored(ana, "Ana", "Live from Ana.")

    server.stop()
    expect(ana.connection).not_to_have_attribute("data-state", "online")
    server.start()
    for tab in (ana, ben):
        tab.wait_ready()
    ben.type_at_end_of(BEN_LINE, " After the restart.")
    wait_authored(ana, "Ben", "After the restart.")
    ana.page.reload()  # a reload: every run read anew from the restarted server's database
    ana.wait_ready()
    authors_on(ana)
    wait_authored(ana, "Ben", BEN_LINE + " Live from Ben. After the restart.")
    wait_authored(ana, "Ana", "Ana again. Live from Ana.")

    ben.delete_lines(BEN_LINE, 1)
    wait_until(lambda: BEN_LINE not in ana.text(), message="Ben's line gone")
    ben.wait_saved()
    history = ana.history()
    history.select(0)
    expect(history.dialog.locator(".diff-summary")).to_contain_text("Changes by Ben")
    history.select(1)  # the version before Ben's deletion
    history.restore()
    ana.wait_text(BEN_LINE)
    wait_authored(ana, "Ana", BEN_LINE)  # the restorer's now, and said so on hover
    titles = [title for author, text, title, _ in ana.page.evaluate(RUNS_JS) if BEN_LINE in text]
    assert titles and "restored" in titles[0], titles


# Whether Ana's caret (her presence cursor, drawn by carets.js) is inside Ben's editor view.
CARET_IN_VIEW_JS = """() => {
  const caret = document.querySelector('#editor .cm-ySelectionCaret')
  if (!caret) return false
  const box = caret.getBoundingClientRect()
  const view = document.querySelector('#editor .cm-scroller').getBoundingClientRect()
  return box.top >= view.top && box.bottom <= view.bottom
}"""


def test_following_a_chip_keeps_that_persons_caret_in_sight_until_one_scrolls(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    lines = "\n".join(f"Line {n} of the agenda." for n in range(1, 151))
    note = shared_server.post_note(f"# Minutes\n\n{lines}\n")
    url = shared_server.url + note["url"]
    ana = person("Ana").open(url).wait_ready()
    ben = person("Ben").open(url).wait_ready()
    ben.wait_names("Ana", "Ben")
    indicator = ben.page.locator("#following")
    expect(indicator).to_be_hidden()

    chip = ben.page.locator("#presence .follow", has_text="Ana")
    chip.click()
    expect(indicator).to_be_visible()
    expect(indicator).to_contain_text("Following Ana")
    expect(chip).to_have_attribute("aria-pressed", "true")
    ana.type("\nDecided: ship on Friday.")  # at the very end, 150 lines below Ben's view
    ben.wait_text("Decided: ship on Friday.")
    ben.page.wait_for_function(CARET_IN_VIEW_JS)
    ana.page.keyboard.press("Control+Home")
    ana.page.keyboard.type("Present: Ana, Ben. ")
    ben.wait_text("Present: Ana, Ben.")
    ben.page.wait_for_function(CARET_IN_VIEW_JS)  # back up with her

    ben.page.locator("#editor .cm-scroller").hover()
    ben.page.mouse.wheel(0, 1200)  # Ben scrolls: he stops following
    expect(indicator).to_be_hidden()
    expect(chip).to_have_attribute("aria-pressed", "false")
    top = ben.page.evaluate("() => document.querySelector('#editor .cm-scroller').scrollTop")
    ana.page.keyboard.press("Control+End")
    ana.page.keyboard.type(" Done.")
    # Her presence cursor leaves her page after the edit, and is relayed without a
    # commit: once Ben has her text (his preview shows all of it; his editor draws only
    # the lines in view), he has had her caret's move too.
    expect(ben.preview).to_contain_text("Done.")
    assert not ben.page.evaluate(CARET_IN_VIEW_JS)
    now = ben.page.evaluate("() => document.querySelector('#editor .cm-scroller').scrollTop")
    assert now == top
