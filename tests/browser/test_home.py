"""The home page starts notes and lists the ones this browser opened; titles follow the text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from browser.notepage import NoteTab, PersonFactory, search_for
from playwright.sync_api import Page, expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

NOTE_URL = re.compile(r".*/n/[A-Za-z0-9_-]+$")


def test_new_note_opens_an_empty_note_and_home_lists_notes_newest_first(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    profile = person("Ana")
    page = profile.context.new_page()
    page.goto(shared_server.url + "/")
    expect(page.locator("#recent-empty")).to_be_visible()

    for title in ("Groceries", "Holiday ideas"):
        page.goto(shared_server.url + "/")
        page.get_by_role("button", name="New note").click()
        expect(page).to_have_url(NOTE_URL)
        tab = NoteTab(page).wait_ready()
        assert tab.text() == ""
        tab.type(f"# {title}\n")
        expect(page).to_have_title(f"{title} · collab-notes")
        tab.wait_saved()

    page.goto(shared_server.url + "/")
    expect(page.locator("#recent .recent-note a")).to_have_text(["Holiday ideas", "Groceries"])
    page.locator("#recent .recent-note a", has_text="Groceries").click()
    NoteTab(page).wait_ready().wait_text("# Groceries")

    page.goto(shared_server.url + "/")
    page.get_by_role("button", name="Forget “Groceries” on this device").click()
    expect(page.locator("#recent .recent-note a")).to_have_text(["Holiday ideas"])


def test_the_page_title_follows_the_notes_first_line_live(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("\n\n## Draft  \nbody")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["view_url"]).wait_ready()
    expect(ana.page).to_have_title("Draft · collab-notes")

    ana.editor.click()
    ana.page.keyboard.press("Control+Home")
    ana.page.keyboard.type("Final report")
    expect(ana.page).to_have_title("Final report · collab-notes")
    expect(ben.page).to_have_title("Final report · collab-notes")
    expect(ana.page.locator("#note-title")).to_have_text("Final report")


def open_home(profile_page: Page, url: str) -> Page:
    profile_page.goto(url + "/")
    return profile_page


def test_forget_offers_undo_and_a_replaced_link_stays_marked(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    first = shared_server.post_note("# Keep me\n")
    second = shared_server.post_note("# Replaced\n")
    ana_profile = person("Ana")
    ana = ana_profile.open(shared_server.url + first["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + second["url"]).wait_ready()
    ana.page.goto(shared_server.url + second["url"])
    NoteTab(ana.page).wait_ready()
    # Ben replaces the edit link Ana has: her page is told, and her list keeps the entry.
    ben.page.locator("#share-open").click()
    section = ben.page.locator('[data-rotate="edit"]')
    section.locator("[data-ask]").click()
    section.locator("[data-confirm]").click()
    expect(ana.page.locator("#banner")).to_contain_text("This link no longer works")

    page = open_home(ana.page, shared_server.url)
    replaced = page.locator(".recent-note", has_text="Replaced")
    expect(replaced).to_contain_text("link replaced")
    page.get_by_role("button", name="Forget “Keep me” on this device").click()
    expect(page.locator(".recent-note", has_text="Keep me")).to_have_count(0)
    notice = page.locator("#home-notice")
    expect(notice).to_contain_text("Forgot “Keep me” on this device.")
    notice.get_by_role("button", name="Undo").click()
    expect(page.locator(".recent-note a")).to_have_text(["Replaced", "Keep me"])


def test_the_list_moves_to_another_device_as_a_json_file(
    shared_server: ServerProcess, person: PersonFactory, tmp_path: Path
) -> None:
    note = shared_server.post_note("# Travelling note\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    page = open_home(ana.page, shared_server.url)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export this list").click()
    exported = tmp_path / "list.json"
    download.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert [entry["token"] for entry in data["notes"]] == [note["id"]]

    laptop = person("Ana").context.new_page()
    laptop.goto(shared_server.url + "/")
    expect(laptop.locator("#recent-empty")).to_be_visible()
    with laptop.expect_file_chooser() as chooser:
        laptop.get_by_role("button", name="Import a list").click()
    chooser.value.set_files(str(exported))
    expect(laptop.locator("#home-notice")).to_contain_text("1 note added or updated")
    laptop.get_by_role("link", name="Travelling note").click()
    NoteTab(laptop).wait_ready().wait_text("# Travelling note")

    bad = tmp_path / "bad.json"
    bad.write_text('{"notes": [{"token": "<script>", "role": "editor"}]}')
    with laptop.expect_file_chooser() as chooser:
        laptop.goto(shared_server.url + "/")
        laptop.get_by_role("button", name="Import a list").click()
    chooser.value.set_files(str(bad))
    expect(laptop.locator("#home-notice")).to_contain_text("holds no notes this app can open")


def test_a_markdown_file_becomes_a_new_note_by_button_or_by_drop(
    shared_server: ServerProcess, person: PersonFactory, tmp_path: Path
) -> None:
    page = person("Ana").context.new_page()
    page.goto(shared_server.url + "/")
    recipe = tmp_path / "recipe.md"
    recipe.write_text("# Bread\n\n- flour\n- water\n")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import a .md file").click()
    chooser.value.set_files(str(recipe))
    expect(page).to_have_url(NOTE_URL)
    NoteTab(page).wait_ready().wait_text("- water")
    expect(page).to_have_title("Bread · collab-notes")

    page.goto(shared_server.url + "/")
    drop_file(page, "dropped.md", "# Dropped in\n")
    expect(page).to_have_url(NOTE_URL)
    NoteTab(page).wait_ready().wait_text("# Dropped in")

    page.goto(shared_server.url + "/")
    drop_file(page, "huge.md", "x" * 2_000_001)
    expect(page.locator("#new-note-error")).to_have_text(
        "“huge.md” has 2,000,001 characters; a note holds at most 2,000,000. "
        "Split it into smaller notes."
    )
    expect(page).to_have_url(shared_server.url + "/")


def drop_file(page: Page, name: str, text: str) -> None:
    """Drop a file on the page, as dragging it from the desktop does."""
    transfer = page.evaluate_handle(
        """([name, text]) => {
      const transfer = new DataTransfer()
      transfer.items.add(new File([text], name, { type: 'text/markdown' }))
      return transfer
    }""",
        [name, text],
    )
    for kind in ("dragenter", "dragover", "drop"):
        page.dispatch_event("main", kind, {"dataTransfer": transfer})


def search_home(page: Page, query: str, state: str) -> None:
    search_for(page, "Search the notes and spaces opened on this device", query, state)


def test_searching_the_home_page_finds_typed_words_highlighted_and_deleted_text(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    profile = person("Ana")
    page = profile.context.new_page()
    # Made with its text: its first version has the words that are deleted below.
    note = shared_server.post_note("# Birdwatching\nsaw a kingfisher at dawn\n")
    page.goto(shared_server.url + note["url"])
    tab = NoteTab(page).wait_ready()
    tab.type("<b>bold?</b> lapwing\n")  # typed: findable within 2 s
    tab.wait_saved()

    page.goto(shared_server.url + "/")
    search_home(page, "KINGF", "1 found")  # as typed: the last word is a prefix, any case
    result = page.locator("#search-results .search-result")
    expect(result.locator("a")).to_have_text("Birdwatching")
    expect(result.locator("mark")).to_have_text(["kingfisher"])
    search_home(page, "lapwing", "1 found")
    expect(result.locator(".snippet")).to_contain_text("<b>bold?</b> lapwing")  # text, not HTML

    # A space opened on this device: its notes are searched too, never opened here.
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Club"}).json()
    body = {"content": "# Outing\na curlew on the marsh"}
    http.post(f"{shared_server.url}/api/spaces/{space['id']}/notes", json=body)
    page.goto(shared_server.url + f"/s/{space['view_id']}")
    expect(page.locator("#space-notes .space-note-title")).to_have_text(["Outing"])
    page.goto(shared_server.url + "/")
    search_home(page, "marsh", "1 found")
    expect(result.locator(".meta")).to_have_text("in Club")
    expect(result.locator("a")).to_have_attribute("href", re.compile("^/n/[^/#]+#match=marsh$"))
    assert space["id"] not in page.content()  # the view link lists view tokens only
    result.locator("a").click()
    expect(page.locator("body")).to_have_attribute("data-role", "viewer")
    page.goto(shared_server.url + "/")
    search_home(page, "lapwing", "1 found")

    result.locator("a").click()
    tab = NoteTab(page).wait_ready()
    tab.delete_lines("saw a kingfisher", 1)
    tab.wait_saved()
    page.goto(shared_server.url + "/")
    search_home(page, "kingfisher", "No note here matches.")
    page.get_by_label("Include deleted text").check()
    expect(result).to_have_class(re.compile("deleted-text"))
    expect(result.locator(".meta")).to_contain_text("removed by Ana")
    result.locator("a").click()
    expect(page.locator("#history-dialog")).to_be_visible()  # on the version that has them
    expect(page.locator("#history-dialog .version-entry[aria-current=true]")).to_have_count(1)


def test_read_mode_is_kept_per_note_and_never_traps_a_new_or_empty_note(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Long read\n\nSome text.\n")
    page = person("Ana").open(shared_server.url + note["url"]).wait_ready().page
    workspace = page.locator("#workspace")
    page.get_by_role("button", name="Read", exact=True).click()
    expect(workspace).to_have_attribute("data-mode", "read")

    page.goto(shared_server.url + "/")
    page.get_by_role("button", name="New note").click()
    expect(page).to_have_url(NOTE_URL)
    fresh = NoteTab(page).wait_ready()
    expect(workspace).to_have_attribute("data-mode", "both")
    expect(fresh.editor).to_be_focused()
    page.keyboard.type("Typed at once")
    fresh.wait_text("Typed at once")
    fresh.wait_saved()

    page.goto(shared_server.url + note["url"])
    NoteTab(page).wait_ready()
    expect(workspace).to_have_attribute("data-mode", "read")

    empty = shared_server.post_note("")
    page.goto(shared_server.url + empty["url"])
    NoteTab(page).wait_ready()
    page.get_by_role("button", name="Read", exact=True).click()
    page.reload()
    emptied = NoteTab(page).wait_ready()
    expect(workspace).to_have_attribute("data-mode", "both")
    expect(emptied.editor).to_be_focused()
