"""History in the browser: who changed what, a version compared and rendered, naming,
restoring with a collaborator typing at that very moment, and Undo restore.

Versions begin after a pause of 1 s here (someone new: 0.1 s), instead of minutes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser.notepage import NoteTab, PersonFactory, wait_until
from playwright.sync_api import Locator, expect
from support.databases import database_write_lock
from support.http import http
from support.server import MakeServer, ServerProcess

pytestmark = pytest.mark.browser

BUDGET = "The budget paragraph, which Ben deletes."
SCHEDULE = "The schedule paragraph, where Cat writes."
PLAN = f"# Plan\n\n{BUDGET}\n\n{SCHEDULE}\n"
WITHOUT_BUDGET = f"# Plan\n\n{SCHEDULE}\n"


@pytest.fixture
def server(make_server: MakeServer) -> ServerProcess:
    return make_server("--version-gap-s", "1").start()  # type: ignore[call-arg]


def content(server: ServerProcess, token: str) -> str:
    """The note's text as the server holds it: an open room's text, committed or not."""
    response = server.get_note(token)
    assert response.status_code == 200, response.text
    text: str = response.json()["content"]
    return text


def test_ana_restores_what_ben_deleted_while_cat_types_and_can_undo_it(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note(PLAN)
    url = server.url + note["url"]
    ana = person("Ana").open(url).wait_ready()
    ben = person("Ben").open(url).wait_ready()
    cat = person("Cat").open(url).wait_ready()

    ben.delete_lines(BUDGET, 2)  # the paragraph and the blank line after it
    for tab in (ana, ben, cat):
        tab.wait_text(WITHOUT_BUDGET, exact=True)
    ben.wait_saved()

    history = ana.history()
    expect(history.entries).to_have_count(2)  # the note's first content, and Ben's change
    newest = history.entries.first
    expect(newest.locator(".entry-who")).to_have_text("Ben")
    expect(newest.locator(".removed")).to_have_text(f"\N{MINUS SIGN}{len(BUDGET) + 2}")
    history.select(0)
    removed = history.diff.locator(".cm-deletedChunk del")
    expect(removed.first).to_have_text(BUDGET)  # struck through, on red
    expect(history.diff.locator("ins")).to_have_count(0)

    history.select(1)  # the version before Ben's change
    with database_write_lock(server.db_path):
        history.restore()
        # The server applies the restore in memory, but cannot commit or send it (nor
        # serve it on REST, which serves committed text only)...
        wait_until(lambda: "applied a restore" in server.log(), message="the restore applied")
        # ...so Cat, still without it, types in her paragraph at that moment.
        assert cat.text() == WITHOUT_BUDGET
        cat.type_at_end_of(SCHEDULE, " Cat adds this.")
        expect(cat.save_state).to_have_attribute("data-state", "saving")
        # Sent before her page heard of the restore (nothing is broadcast under the lock).
        assert cat.text() == WITHOUT_BUDGET.replace(SCHEDULE, SCHEDULE + " Cat adds this.")
    # Her words stay in her paragraph: replacing the whole text would have moved them.
    merged = PLAN.replace(SCHEDULE, SCHEDULE + " Cat adds this.")
    for tab in (ana, ben, cat):
        tab.wait_text(merged, exact=True)
        tab.wait_saved()
    assert content(server, note["id"]) == merged

    notice = ana.page.locator("#restore-notice")
    expect(notice).to_be_visible()
    expect(history.dialog).to_be_hidden()
    undo = notice.get_by_role("button", name="Undo restore")
    expect(undo).to_be_focused()
    undo.click()
    # Undo restore takes back the restore's own change: Ben's deletion again, and what
    # Cat typed after the restore stays (restoring the before-restore version lost it).
    undone = WITHOUT_BUDGET.replace(SCHEDULE, SCHEDULE + " Cat adds this.")
    for tab in (ana, ben, cat):
        tab.wait_text(undone, exact=True)
    expect(notice).to_contain_text("You undid the restore")
    expect(cat.page.locator("#restore-notice")).to_contain_text("Ana undid the restore")
    assert content(server, note["id"]) == undone

    history = ana.history()
    expect(history.entries.locator(".badge.before-restore")).to_have_count(1)
    expect(history.entries.locator(".entry-restore")).to_contain_text("Ana restored the version")
    expect(history.entries.first.locator(".entry-who")).to_contain_text("Ana")

    viewer = person("Vic").open(server.url + note["view_url"]).wait_ready()
    viewer.wait_text(undone, exact=True)
    expect(viewer.page.locator("#history-open")).to_have_count(0)
    expect(viewer.page.locator("#history-dialog")).to_have_count(0)
    refused = viewer.page.evaluate(
        "(token) => fetch(`/api/notes/${token}/versions`).then((r) => r.status)", note["view_id"]
    )
    assert refused == 403


def test_ben_typing_while_ana_restores_keeps_his_sentence_whole_and_undo_keeps_every_word(
    server: ServerProcess, person: PersonFactory
) -> None:
    """The walk: Ana restores the oldest version while Ben types a sentence at the end.

    Before, the half of his sentence the server had was deleted and the rest went on
    wherever his cursor landed; Undo restore (restoring the before-restore version)
    then deleted the line he wrote after it, and Ben was told nothing.
    """
    oldest = "# Plan\n\nold line\n"
    note = server.post_note(oldest)
    url = server.url + note["url"]
    ana = person("Ana").open(url).wait_ready()
    ben = person("Ben").open(url).wait_ready()
    ana.type("A line Ana saved.\n")
    ana.wait_saved()
    ben.wait_text(oldest + "A line Ana saved.\n", exact=True)

    ben.type("Ben types a sentence")
    wait_until(lambda: content(server, note["id"]).endswith("sentence"), message="his first half")
    history = ana.history()
    expect(history.entries).to_have_count(3)  # the first content, Ana's line, Ben's typing
    history.select(2)  # the oldest version
    with database_write_lock(server.db_path):
        history.restore()
        # Applied in memory, but neither committed nor sent (nor served on REST) yet.
        wait_until(lambda: "applied a restore" in server.log(), message="the restore applied")
        ben.page.keyboard.type(" and finishes it.")  # he has not seen the restore yet
        expect(ben.save_state).to_have_attribute("data-state", "saving")
        assert "A line Ana saved." in ben.text()  # sent before his page heard of the restore
    restored = oldest + "Ben types a sentence and finishes it."
    for tab in (ana, ben):
        tab.wait_text(restored, exact=True)
    told = ben.page.locator("#restore-notice")
    expect(told).to_contain_text("Ana restored the version of")
    expect(told.get_by_role("button", name="Undo restore")).to_be_visible()

    ben.page.keyboard.press("Enter")
    ben.page.keyboard.type("Ben's new line.")
    ben.wait_saved()
    ana.page.locator("#restore-notice").get_by_role("button", name="Undo restore").click()
    undone = oldest + "A line Ana saved.\nBen types a sentence and finishes it.\nBen's new line."
    for tab in (ana, ben):
        tab.wait_text(undone, exact=True)
    expect(told).to_contain_text("Ana undid the restore")

    history = ana.history()
    expect(history.entries.locator(".entry-restore")).to_contain_text(
        ["Ana restored the version of"]
    )
    expect(history.entries.locator(".entry-restore")).to_contain_text(["undone by Ana"])
    times = history.entries.locator("time.entry-time")
    shown = [(t.text_content(), t.get_attribute("datetime")) for t in times.all()]
    for label, _ in shown:  # entries that read the same were made in the same second
        same = {str(m)[:19] for text, m in shown if text == label}
        assert len(same) == 1, shown


TRIP = """# Trip to Lisbon

## Before we go

- [ ] book the train
- [x] pack
- [ ] ask Cat about the flat

## Days

Day 1: the castle, then dinner in Alfama.
Day 2: Belém and the tiles museum.

Budget per day: $\\frac{600}{4}$ euros.
"""


def test_a_version_compared_inline_side_by_side_with_the_current_text_and_rendered(
    server: ServerProcess, person: PersonFactory, artifacts: Path
) -> None:
    note = server.post_note(TRIP)
    url = server.url + note["url"]
    ana = person("Ana", {"width": 1100, "height": 700}).open(url).wait_ready()
    ben = person("Ben").open(url).wait_ready()
    ana.type_at_end_of("book the train", " for Tuesday")
    ana.wait_saved()
    ben.wait_text("for Tuesday")
    # A pause past a tenth of --version-gap-s: Ben's edits start a version of their own.
    time.sleep(0.2)
    ben.delete_lines("ask Cat about the flat", 1)
    ben.type_at_end_of("Day 2:", " Sintra if it rains.")
    ben.wait_saved()
    ana.wait_text("Sintra if it rains.")
    history = ana.history()
    history.dialog.get_by_label("Name the current version").fill("Before the review")
    history.dialog.get_by_role("button", name="Save").click()
    expect(history.entries).to_have_count(4)  # named; Ben's; Ana's; the first content
    expect(history.entries.nth(0).locator(".badge.named")).to_have_text("Named")
    expect(history.entries.nth(1).locator(".entry-who")).to_have_text("Ben")
    expect(history.entries.nth(2).locator(".entry-who")).to_have_text("Ana")

    history.select(1)  # Ben's, against the version before it: inline
    removed = history.diff.locator(".cm-deletedChunk", has_text="ask Cat")
    expect(removed).to_have_text("- [ ] ask Cat about the flat")
    expect(history.diff.locator(".cm-changedText")).to_contain_text("Sintra if it rains")
    ana.page.locator("#history-dialog").screenshot(
        path=str(artifacts / "history.png"), animations="disabled", caret="hide"
    )

    history.select(3)  # the first content
    expect(history.dialog.locator(".diff-summary")).to_contain_text("oldest")
    history.choose("Current text")
    history.choose("Side by side")
    expect(history.diff.locator(".cm-merge-a .cm-changedText")).to_contain_text(
        ["ask Cat about the flat"]
    )
    expect(history.diff.locator(".cm-merge-b .cm-changedText")).to_contain_text(
        ["for Tuesday", "Sintra if it rains"]
    )

    history.choose("Rendered")
    rendered = history.dialog.locator(".version-rendered")
    expect(history.diff).to_be_hidden()
    expect(rendered.locator("h1")).to_have_text("Trip to Lisbon")
    boxes = rendered.locator("input[type=checkbox]")
    expect(boxes).to_have_count(3)
    for box in boxes.all():
        expect(box).to_be_disabled()
    expect(rendered).to_contain_text("ask Cat about the flat")
    expect(rendered).not_to_contain_text("for Tuesday")
    expect(rendered.locator(".math math mfrac")).to_have_count(1)  # typeset, as in the preview


def test_a_version_is_rendered_sanitised_as_the_preview_is(
    server: ServerProcess, person: PersonFactory
) -> None:
    hostile = (
        "# Hostile\n\n"
        '<div style="position: fixed; inset: 0">cover</div><script>window.__pwned = 1</script>\n'
    )
    note = server.post_note(hostile)
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    history = ana.history()
    history.select(0)
    history.choose("Rendered")
    rendered = history.dialog.locator(".version-rendered")
    expect(rendered.locator("h1")).to_have_text("Hostile")
    expect(rendered.get_by_text("cover")).to_be_visible()
    expect(rendered.locator("[style], script")).to_have_count(0)
    assert ana.page.evaluate("() => window.__pwned") is None


def test_naming_the_current_version_takes_1_to_100_characters(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Draft\n")
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    history = ana.history()
    field = history.dialog.get_by_label("Name the current version")
    hint = history.dialog.locator(".name-version .hint")

    history.dialog.get_by_role("button", name="Save").click()
    expect(hint).to_have_text("Type a name first (1 to 100 characters).")
    field.fill("x" * 101)  # said as soon as it is too long, before any request
    expect(hint).to_have_text("A name can have at most 100 characters; this one has 101.")
    expect(field).to_have_attribute("aria-invalid", "true")
    history.dialog.get_by_role("button", name="Save").click()
    expect(history.entries).to_have_count(1)

    field.fill("Before the review")
    field.press("Enter")
    expect(hint).to_have_text("Named the current version “Before the review”.")
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(history.entries).to_have_count(2)
    named = history.entries.first
    expect(named.locator(".badge.named")).to_have_text("Named")
    expect(named.locator(".entry-name")).to_have_text("“Before the review”")
    expect(named.locator("time")).to_be_visible()


def test_older_versions_load_a_page_at_a_time(server: ServerProcess, person: PersonFactory) -> None:
    note = server.post_note("# Many\n")
    for i in range(55):
        response = http.post(
            f"{server.url}/api/notes/{note['id']}/versions", json={"name": f"n{i}"}, timeout=10
        )
        assert response.status_code == 201
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    history = ana.history()
    expect(history.entries).to_have_count(50)
    expect(history.entries.first.locator(".entry-name")).to_have_text("“n54”")
    more = history.dialog.get_by_role("button", name="Load older versions")
    more.click()
    expect(history.entries).to_have_count(56)  # 55 named, and the note's first content
    expect(more).to_be_hidden()
    expect(history.entries.last.locator(".entry-name")).to_have_count(0)


def test_the_history_works_from_the_keyboard(server: ServerProcess, person: PersonFactory) -> None:
    note = server.post_note("# Keys\n\nOne line.\n")
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    ana.type_at_end_of("One line.", " Two.")
    ana.wait_saved()
    opener = ana.page.locator("#history-open")
    opener.focus()
    ana.page.keyboard.press("Enter")
    history = ana.page.locator("#history-dialog")
    expect(history).to_be_visible()
    entries = history.locator(".version-entry")
    expect(entries).to_have_count(2)
    press_tab_until(ana, entries.first)
    ana.page.keyboard.press("ArrowDown")
    expect(entries.last).to_be_focused()
    ana.page.keyboard.press("ArrowUp")
    expect(entries.first).to_be_focused()
    ana.page.keyboard.press("Enter")
    expect(entries.first).to_have_attribute("aria-current", "true")
    expect(history.locator(".diff .cm-changedText")).to_have_text(" Two.")
    restore = history.get_by_role("button", name="Restore this version…")
    press_tab_until(ana, restore)
    ana.page.keyboard.press("Enter")
    expect(history.get_by_role("button", name="Restore", exact=True)).to_be_focused()
    ana.page.keyboard.press("Escape")
    expect(history).to_be_hidden()
    expect(opener).to_be_focused()


def press_tab_until(tab: NoteTab, target: Locator, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus."""
    for _ in range(limit):
        if target.evaluate("(el) => el === document.activeElement"):
            return
        tab.page.keyboard.press("Tab")
    raise AssertionError(f"{target} never got the focus in {limit} presses of Tab")
