"""A view link shows the note live, read-only, and never reveals the edit link."""

from __future__ import annotations

import pytest
from browser.notepage import PersonFactory
from playwright.sync_api import expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

TEXT = "# Minutes\n\nDecisions so far.\n"


def test_a_view_link_opens_the_rendered_note_that_follows_the_editors(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(TEXT)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()

    # A clean reading page: the rendered note, no Markdown source, no mode switch.
    expect(vic.page.locator("#workspace")).to_have_attribute("data-mode", "read")
    expect(vic.preview.locator("h1")).to_have_text("Minutes")
    expect(vic.page.locator("#editor")).to_be_hidden()
    expect(vic.page.locator(".modes")).to_have_count(0)
    expect(vic.editor).to_have_attribute("contenteditable", "false")
    expect(vic.save_state).to_have_text("View only")
    vic.page.keyboard.type("vandalism")

    ana.type("Ana adds a line.")
    expect(vic.preview).to_contain_text("Ana adds a line.")
    ana.wait_saved()
    stored = shared_server.get_note(note["id"]).json()["content"]
    assert stored == TEXT + "Ana adds a line."
    assert "vandalism" not in stored
    expect(vic.preview.locator("input[type=checkbox]")).to_have_count(0)


def test_a_viewers_task_boxes_cannot_be_ticked(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("- [ ] one\n- [x] two\n")
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()
    boxes = vic.preview.locator("input[type=checkbox]")
    expect(boxes).to_have_count(2)
    expect(boxes.first).to_be_disabled()


def test_a_viewer_is_shown_as_viewing_and_sees_the_editors(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(TEXT)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()

    ana.wait_names("Ana", "Vic")
    vic.wait_names("Ana", "Vic")
    viewer_chip = ana.people.filter(has_text="Vic")
    expect(viewer_chip).to_have_class("person viewer")
    expect(viewer_chip.locator(".badge")).to_have_text("viewing")
    expect(ana.toasts.filter(has_text="Vic joined")).to_have_count(1)

    ana.type("Look here")
    expect(vic.preview).to_contain_text("Look here")


def test_a_view_page_never_contains_the_edit_link(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(TEXT)
    edit_token = note["id"]
    html = http.get(shared_server.url + note["view_url"]).text
    assert note["view_id"] in html
    assert edit_token not in html

    profile = person("Vic")
    requested: list[str] = []
    profile.context.on("request", lambda request: requested.append(request.url))
    vic = profile.open(shared_server.url + note["view_url"]).wait_ready()
    vic.page.locator("#share-open").click()
    dialog = vic.page.locator("#share-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#view-link")).to_have_value(shared_server.url + note["view_url"])
    expect(dialog.locator("#edit-link")).to_have_count(0)
    expect(dialog.locator("[data-ask]")).to_have_count(0)  # no rotating from a view link

    assert edit_token not in vic.page.content()
    assert not [url for url in requested if edit_token in url]
    assert edit_token not in str(vic.page.evaluate("() => JSON.stringify(localStorage)"))
