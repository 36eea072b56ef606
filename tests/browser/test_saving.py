""" "Saved" means on the server's disk: proved by holding the database's write lock."""

from __future__ import annotations

import time

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.databases import database_write_lock
from support.server import ServerProcess

pytestmark = pytest.mark.browser

# Records every value #save-state takes from now on, so that a "Saved" shown for a
# single frame between two polls is still caught.
WATCH_SAVE_STATES = """() => {
  const target = document.querySelector('#save-state')
  window.__saveStates = [target.dataset.state]
  new MutationObserver(() => window.__saveStates.push(target.dataset.state))
    .observe(target, { attributes: true, attributeFilter: ['data-state'] })
}"""


def save_states_seen(tab: NoteTab) -> list[str]:
    states: list[str] = tab.page.evaluate("() => window.__saveStates")
    return states


def test_saved_appears_only_after_the_server_committed_the_edit(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Durable\n")
    ana = person("Ana").open(server.url + note["url"]).wait_ready()

    with database_write_lock(server.db_path):
        ana.page.evaluate(WATCH_SAVE_STATES)
        ana.type("typed while the disk is busy")
        expect(ana.save_state).to_have_attribute("data-state", "saving")
        expect(ana.save_state).to_have_text("Saving…")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # the write is stuck, so no ack may come
            assert "saved" not in save_states_seen(ana)[1:], "Saved shown before the commit"
            ana.page.wait_for_timeout(100)
    ana.wait_saved()
    assert save_states_seen(ana)[-1] == "saved"

    server.kill()
    server.start()
    assert "typed while the disk is busy" in server.get_note(note["id"]).json()["content"]


def test_a_reload_after_a_crash_and_restart_shows_the_same_text(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Crash test\n")
    ana_profile = person("Ana")
    ana = ana_profile.open(server.url + note["url"]).wait_ready()
    ana.type("every word counts")
    ana.wait_saved()
    before = ana.text()

    server.kill()
    expect(ana.connection).not_to_have_attribute("data-state", "online")
    server.start()
    ana.wait_ready()  # it reconnects by itself
    assert ana.text() == before

    ana.page.reload()
    ana.wait_ready()
    ana.wait_text(before, exact=True)
    # Ana's browser keeps a copy; a fresh profile proves the server has the text too.
    ben = person("Ben").open(server.url + note["url"]).wait_ready()
    ben.wait_text(before, exact=True)
