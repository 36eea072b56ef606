"""Editing as in other notes apps: focus on arrival, list indentation, formatting keys, search."""

from __future__ import annotations

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

EDITOR_HAS_FOCUS = "() => document.activeElement?.classList.contains('cm-content') ?? false"


def test_a_new_note_opens_with_the_editor_focused(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    page = person("Ana").context.new_page()
    page.goto(shared_server.url + "/")
    page.get_by_role("button", name="New note").click()
    tab = NoteTab(page).wait_ready()
    assert page.evaluate(EDITOR_HAS_FOCUS)
    page.keyboard.type("Typed at once")
    tab.wait_text("Typed at once", exact=True)


def test_tab_nests_list_items_and_escape_then_tab_leaves_the_editor(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.type("- fruit\n")
    ana.page.keyboard.type("apples")
    ana.page.keyboard.press("Tab")
    ana.wait_text("- fruit\n  - apples", exact=True)
    ana.page.keyboard.press("Enter")
    ana.page.keyboard.type("pears")
    ana.page.keyboard.press("Shift+Tab")
    ana.wait_text("- fruit\n  - apples\n- pears", exact=True)

    ana.type("\n\n1. first\n")
    ana.page.keyboard.type("second")
    ana.page.keyboard.press("Tab")  # nested under "1. " means three spaces
    ana.wait_text("1. first\n   2. second")

    ana.page.keyboard.press("Escape")
    ana.page.keyboard.press("Tab")
    assert not ana.page.evaluate(EDITOR_HAS_FOCUS)
    assert "\t" not in ana.text()


def test_control_b_i_and_k_make_bold_italic_and_links(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.type("very")
    ana.page.keyboard.press("Shift+Home")
    ana.page.keyboard.press("Control+b")
    ana.wait_text("**very**", exact=True)
    ana.page.keyboard.press("Control+b")  # and off again
    ana.wait_text("very", exact=True)
    ana.page.keyboard.press("Control+i")
    ana.wait_text("*very*", exact=True)
    ana.page.keyboard.press("End")
    ana.page.keyboard.type("\nsite")
    ana.page.keyboard.press("Shift+Home")
    ana.page.keyboard.press("Control+k")  # the address is selected, ready to be typed
    ana.page.keyboard.type("https://example.com")
    ana.page.keyboard.press("End")
    ana.page.keyboard.type("\nhttps://a.example")
    ana.page.keyboard.press("Shift+Home")
    ana.page.keyboard.press("Control+k")  # an address becomes the link; type its label
    ana.page.keyboard.type("A")
    ana.wait_text("*very*\n[site](https://example.com)\n[A](https://a.example)", exact=True)


def test_search_and_replace_inside_the_note(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("cat and dog\nanother cat\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.editor.click()
    ana.page.keyboard.press("Control+f")
    panel = ana.page.locator(".cm-search")
    expect(panel).to_be_visible()
    panel.get_by_placeholder("Find").press_sequentially("cat")
    expect(ana.page.locator(".cm-searchMatch")).to_have_count(2)
    panel.get_by_placeholder("Replace").press_sequentially("bird")
    panel.get_by_role("button", name="replace all").click()
    ana.wait_text("bird and dog\nanother bird\n", exact=True)
    ana.wait_saved()
    assert shared_server.get_note(note["id"]).json()["content"] == "bird and dog\nanother bird\n"


DROP_FILE = """([x, y, name, text]) => {
  const files = new DataTransfer()
  files.items.add(new File([text], name, { type: 'text/markdown' }))
  document.elementFromPoint(x, y).dispatchEvent(new DragEvent('drop', {
    dataTransfer: files, clientX: x, clientY: y, bubbles: true, cancelable: true
  }))
}"""


def test_a_markdown_file_dropped_on_a_note_becomes_a_block_of_its_own(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# List\n\nMilk\nEggs\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    box = ana.page.locator("#editor .cm-line", has_text="Milk").bounding_box()
    assert box is not None
    where = [box["x"] + 20, box["y"] + box["height"] / 2]
    ana.page.evaluate(DROP_FILE, [*where, "dropped.md", "# Dropped\nbody\n"])
    ana.wait_text("# List\n\nMilk\n\n# Dropped\nbody\n\nEggs\n", exact=True)


def test_the_editor_shows_where_the_keyboard_is_and_ctrl_s_says_how_saving_stands(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Habits\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.type(" typed")
    ana.wait_saved()
    ring = ana.page.locator("#editor .cm-editor").evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth] }"
    )
    assert ring == ["solid", "2px"]
    ana.page.keyboard.press("Control+s")
    expect(ana.toasts.filter(has_text="Saved: every edit is on the server.")).to_have_count(1)
    ana.page.context.set_offline(True)
    ana.type("!")
    ana.page.keyboard.press("Control+s")
    expect(ana.toasts.filter(has_text="Offline: 1 edit kept in this browser")).to_have_count(1)
    ana.page.context.set_offline(False)
    ana.wait_ready()
