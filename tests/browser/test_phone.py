"""On a phone (390 x 844): the title shows, presence collapses, notices stay off the text,
caret labels are short, and everything you can tap is at least 44 px."""

from __future__ import annotations

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import Page, expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Every visible thing a finger can tap, with its size.
TARGETS = """() => [...document.querySelectorAll('a, button, input, [role=tab]')]
  .filter((el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden')
  .map((el) => {
    const box = el.getBoundingClientRect()
    return { what: el.outerHTML.slice(0, 80), width: box.width, height: box.height }
  })"""


def small_targets(page: Page) -> list[dict[str, object]]:
    targets: list[dict[str, float]] = page.evaluate(TARGETS)
    return [t for t in targets if t["width"] < 44 or t["height"] < 44]


def overlaps(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    assert a is not None and b is not None
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_a_note_on_a_phone(shared_server: ServerProcess, person: PersonFactory) -> None:
    note = shared_server.post_note("# Shopping on the go\n\nMilk\n")
    ana = person("Ana", PHONE).open(shared_server.url + note["url"]).wait_ready()
    expect(ana.page.locator("#note-title")).to_be_visible()
    expect(ana.page.locator("#note-title")).to_have_text("Shopping on the go")
    assert small_targets(ana.page) == []

    others = [person(name, PHONE) for name in ("Benedetta", "Cleopatra", "Dan", "Eve")]
    for other in others:
        other.open(shared_server.url + note["url"]).wait_ready()
    # Five people: three shown, then "+2", in view however long the names, which shows
    # the rest when tapped.
    more = ana.page.locator(".more-button")
    expect(more).to_have_text("+2")
    box = more.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"], box
    expect(ana.page.locator("#presence .person:visible:not(.more)")).to_have_count(3)
    more.click()
    expect(ana.page.locator("#presence .person:visible:not(.more)")).to_have_count(5)

    # One notice at a time, over neither the title nor the text.
    toasts = ana.page.locator("#toasts .toast:visible")
    expect(toasts).to_have_count(1)
    for bar in ("#editor", ".topbar"):
        assert not overlaps(toasts.bounding_box(), ana.page.locator(bar).bounding_box()), bar


def test_a_long_name_on_a_caret_is_cut_short_on_a_phone(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("Hello\n")
    ana = person("Ana", PHONE).open(shared_server.url + note["url"]).wait_ready()
    long_name = "Maximilian Alexander von Humboldt"
    ben = person(long_name, PHONE).open(shared_server.url + note["url"]).wait_ready()
    ben.type(" there")
    ana.wait_names("Ana", long_name)
    ana.wait_text(" there")
    label = ana.page.locator(".cm-ySelectionInfo").first
    expect(label).to_have_text(long_name)  # all of it for screen readers, cut short on screen
    box = label.bounding_box()
    assert box is not None and box["width"] < 110, box


def test_the_home_page_on_a_phone_has_big_targets(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Listed\n")
    profile = person("Ana", PHONE)
    NoteTab(profile.context.new_page()).page.goto(shared_server.url + note["url"])
    page = profile.context.new_page()
    page.goto(shared_server.url + "/")
    expect(page.locator(".recent-note a")).to_have_text(["Listed"])
    assert small_targets(page) == []


def test_the_history_on_a_phone_shows_the_list_then_one_version(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Phone history\n\nMilk\n")
    ana = person("Ana", PHONE).open(shared_server.url + note["url"]).wait_ready()
    # History shares the second row with Edit / Read: the title keeps the first.
    opener = ana.page.locator("#history-open").bounding_box()
    modes = ana.page.locator(".topbar .modes").bounding_box()
    assert opener is not None and modes is not None
    assert abs((opener["y"] + opener["height"] / 2) - (modes["y"] + modes["height"] / 2)) < 2
    ana.type("\nEggs")
    ana.wait_saved()

    history = ana.history()
    expect(history.detail).to_be_hidden()  # one column: the list first
    assert small_targets(ana.page) == []
    entry = history.select(0)
    expect(history.dialog.locator(".timeline")).to_be_hidden()
    expect(history.dialog.locator("#version-title")).to_be_focused()
    expect(history.dialog.get_by_role("button", name="Side by side")).to_be_hidden()
    expect(history.diff.locator(".cm-changedText, ins").first).to_contain_text("Eggs")
    assert small_targets(ana.page) == []
    history.dialog.get_by_role("button", name="← All versions").click()
    expect(entry).to_be_focused()
    box = ana.page.locator("#history-dialog").bounding_box()
    assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
