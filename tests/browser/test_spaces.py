"""Spaces in the browser: made from the home page, a live list two people share, a
search box (words typed by another person, deleted text restored), a read-only view
link that never shows an edit token, links replaced, tags that filter and show in
the preview, templates."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import pytest
from browser.notepage import HistoryView, NoteTab, PersonFactory, search_for
from playwright.sync_api import expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

SPACE_URL = re.compile(r".*/s/[A-Za-z0-9_-]+$")
NOTE_URL = re.compile(r".*/n/[A-Za-z0-9_-]+$")
LIVE_MS = 2000
"""A note made or renamed by anyone is in everyone's list this soon; a word typed is
found by a search this soon after it is saved."""
SEARCH_SPACE = "Search the notes of this space"
GONE = "This space was deleted, or its link was replaced."


def test_two_people_in_one_space_see_each_others_new_notes_appear(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    ana = person("Ana").open(shared_server.url + "/").page
    ana.locator("#new-space-name").fill("Design team")
    ana.get_by_role("button", name="New space").click()
    expect(ana).to_have_url(SPACE_URL)
    expect(ana.locator("#space-name")).to_have_text("Design team")
    space_url = ana.url

    ben = person("Ben").open(shared_server.url + "/").page
    ben.locator("#open-space-link").fill(space_url)
    ben.get_by_role("button", name="Open", exact=True).click()
    expect(ben).to_have_url(space_url)
    expect(ben.locator("#space-empty")).to_be_visible()

    ana.get_by_role("button", name="New note").click()
    expect(ana).to_have_url(NOTE_URL)
    tab = NoteTab(ana).wait_ready()
    tab.type("# Minutes #weekly\n")
    tab.wait_saved()
    saved = time.monotonic()
    expect(tab.preview.locator("h1 .note-tag")).to_have_text(["#weekly"])
    titles = ben.locator("#space-notes .space-note-title")
    expect(titles).to_have_text(["Minutes #weekly"], timeout=LIVE_MS + 1000)
    assert time.monotonic() - saved < LIVE_MS + 0.5
    expect(ben.locator("#space-notes .meta")).to_contain_text("by Ana")

    ben.get_by_role("button", name="New note").click()
    NoteTab(ben).wait_ready().type("# Ben's plan\n")
    NoteTab(ben).wait_saved()
    ana.go_back()
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(
        ["Ben's plan", "Minutes #weekly"], timeout=LIVE_MS + 1000
    )
    ana.get_by_role("button", name="#weekly (1)").click()
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Minutes #weekly"])

    ana.goto(shared_server.url + "/")
    expect(ana.locator("#spaces a")).to_have_text(["Design team"])


def test_searching_a_space_finds_what_another_person_typed_and_restores_deleted_text(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Field"}).json()
    note = http.post(
        f"{shared_server.url}/api/spaces/{space['id']}/notes",
        json={"content": "# Field notes\n\nsaw a kingfisher at dawn\n\nweather: fine\n"},
    ).json()
    ana = person("Ana").open(shared_server.url + space["url"]).page
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Field notes"])
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ben.type("a heron by the weir\n")
    ben.wait_saved()
    saved = time.monotonic()
    search_for(ana, SEARCH_SPACE, "heron", "1 found")
    found = time.monotonic() - saved
    assert found < LIVE_MS / 1000 + 0.5, f"found {found:.2f} s after it was saved"
    result = ana.locator("#search-results .search-result")
    expect(result.locator(".snippet mark")).to_have_text(["heron"])

    result.locator("a").click()  # the note opens with the word selected
    NoteTab(ana).wait_ready()
    ana.wait_for_function("() => getSelection().toString() === 'heron'")

    ben.delete_lines("saw a kingfisher", 1)
    ben.wait_saved()
    ana.go_back()
    search_for(ana, SEARCH_SPACE, "kingfisher", "No note in this space matches.")
    ana.get_by_label("Include deleted text").check()
    search_for(ana, SEARCH_SPACE, "kingfisher", "1 found")
    expect(result).to_have_class(re.compile("deleted-text"))
    expect(result.locator(".meta")).to_contain_text("removed by Ben")
    result.locator("a").click()  # the History view, on the version that has it
    history = HistoryView(ana)
    expect(history.dialog.locator(".version-entry[aria-current=true]")).to_have_count(1)
    expect(history.dialog.locator(".version-body")).to_contain_text("kingfisher")
    history.restore()  # a restore spares what Ben typed lately: his line is far from this one
    for tab in (NoteTab(ana), ben):
        tab.wait_text("saw a kingfisher at dawn\n\nweather: fine")


def test_a_view_link_lists_and_searches_read_only_and_a_replaced_link_stops_at_once(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Board"}).json()
    made = [
        http.post(
            f"{shared_server.url}/api/spaces/{space['id']}/notes", json={"content": text}
        ).json()
        for text in ("# Budget\nfigures for the quarter", "# Roadmap")
    ]
    vic = person("Vic").open(shared_server.url + space["view_url"]).page
    expect(vic.locator("#space-notes .space-note-title")).to_have_text(["Roadmap", "Budget"])
    expect(vic.get_by_role("button", name="New note")).to_have_count(0)
    expect(vic.get_by_label("Include deleted text")).to_have_count(0)  # that is history
    search_for(vic, SEARCH_SPACE, "quarter", "1 found")
    expect(vic.locator("#search-results .snippet mark")).to_have_text(["quarter"])
    vic.locator("#share-open").click()
    expect(vic.locator("#view-link")).to_have_value(shared_server.url + space["view_url"])
    expect(vic.locator("#edit-link")).to_have_count(0)
    vic.get_by_role("button", name="Done").click()
    html = vic.content()
    for secret in [space["id"], *(note["id"] for note in made)]:
        assert secret not in html
    hrefs = vic.locator("main a").evaluate_all("links => links.map(a => a.href)")
    views = {note["view_id"] for note in made}
    assert {re.sub(r"#.*", "", h).rsplit("/", 1)[1] for h in hrefs} == views

    ana = person("Ana").open(shared_server.url + space["url"]).page
    ana.locator("#share-open").click()
    dialog = ana.locator("#share-dialog")
    expect(dialog.locator("#edit-link")).to_have_value(shared_server.url + space["url"])
    dialog.get_by_role("button", name="Replace view link…").click()
    dialog.get_by_role("button", name="Make a new view link").click()
    expect(dialog.locator("#view-link")).not_to_have_value(shared_server.url + space["view_url"])
    expect(vic.locator("#space-error")).to_have_text(GONE, timeout=LIVE_MS + 1000)
    assert http.get(f"{shared_server.url}/api/spaces/{space['view_id']}").status_code == 404
    dialog.get_by_role("button", name="Replace edit link…").click()
    dialog.get_by_role("button", name="Make a new edit link").click()
    expect(ana).not_to_have_url(shared_server.url + space["url"])
    expect(dialog.locator("#edit-link")).to_have_value(ana.url)
    assert http.get(f"{shared_server.url}/api/spaces/{space['id']}").status_code == 404
    dialog.get_by_role("button", name="Done").click()
    ana.get_by_role("button", name="New note").click()  # the page carries on with its new link
    expect(ana).to_have_url(NOTE_URL)

    # Each note keeps its own links: the result Vic found still opens, read-only.
    vic.locator("#search-results a", has_text="Budget").click()
    NoteTab(vic).wait_ready().wait_text("# Budget")
    expect(vic.locator("#history-open")).to_have_count(0)  # a viewer has no history


def test_a_template_starts_a_new_note_with_its_text(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Ops"}).json()
    text = "---\ntags: [ops, runbook]\n---\n# Incident\n## Timeline #todo\n"
    template = http.post(
        f"{shared_server.url}/api/spaces/{space['id']}/notes", json={"content": text}
    ).json()
    ana = person("Ana").open(shared_server.url + space["url"]).page
    ana.get_by_role("button", name="Make template: “Incident”").click()
    ana.get_by_role("button", name="Duplicate: “Incident”").click()
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Incident", "Incident"])
    ana.get_by_role("button", name="New from this template").click()
    expect(ana).to_have_url(NOTE_URL)
    assert ana.url.rsplit("/", 1)[1] != template["id"]
    tab = NoteTab(ana).wait_ready()
    tab.wait_text(text.rstrip("\n"))
    # The front matter is not shown; its tags are, and so is a #tag in the text.
    expect(tab.preview.locator(".front-matter-tags .note-tag")).to_have_text(["#ops", "#runbook"])
    expect(tab.preview.locator("h2 .note-tag")).to_have_text(["#todo"])
    expect(tab.preview.locator("hr")).to_have_count(0)


def test_a_zip_and_markdown_files_import_with_a_result_per_file(
    shared_server: ServerProcess, person: PersonFactory, tmp_path: Path
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Vault"}).json()
    archive = tmp_path / "vault.zip"
    with zipfile.ZipFile(archive, "w") as made:
        made.writestr("Alpha.md", "# Alpha\n")
        made.writestr("../trick.md", "# Trick\n")
    loose = tmp_path / "Beta.md"
    loose.write_text("# Beta #loose\n")
    ana = person("Ana").open(shared_server.url + space["url"]).page
    ana.locator("#space-import-files").set_input_files(str(archive))
    report = ana.locator("#space-import-report")
    expect(report).to_contain_text("Imported 1 of 2 files from vault.zip.")
    expect(report).to_contain_text("../trick.md: refused: a path trick in its name")
    ana.locator("#space-import-files").set_input_files(str(loose))
    expect(report).to_contain_text("Imported 1 of 1 files.")
    ana.locator("#space-sort").select_option("title")
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Alpha", "Beta #loose"])


def test_a_deleted_space_can_be_restored_from_its_edit_link(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Temp"}).json()
    http.post(f"{shared_server.url}/api/spaces/{space['id']}/notes", json={"content": "# Kept"})
    ana = person("Ana").open(shared_server.url + space["url"]).page
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Kept"])
    ana.once("dialog", lambda dialog: dialog.accept())
    ana.get_by_role("button", name="Delete space…").click()
    expect(ana.locator("h1")).to_have_text("This space was deleted")
    viewer = person("Vic").open(shared_server.url + space["view_url"]).page
    expect(viewer.locator("h1")).to_have_text("This space was deleted")
    expect(viewer.get_by_role("button", name="Restore the space")).to_have_count(0)
    ana.get_by_role("button", name="Restore the space").click()
    expect(ana.locator("#space-notes .space-note-title")).to_have_text(["Kept"])
