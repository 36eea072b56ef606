"""Everyone present is shown again within 2 s of a reconnect, whatever dropped the socket.

y-protocols ignores a re-sent presence state whose clock did not advance, and the
y-websocket client drops the others' states when its socket closes: without the
app's and the server's countermeasures, people vanish for 15 s or more after a
server restart or a link replacement although nobody left.
"""

from __future__ import annotations

import time

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

BACK_WITHIN_S = 2.0


def wait_online(tab: NoteTab, timeout_ms: int = 20_000) -> float:
    """Wait until the tab is connected again; returns when that was seen."""
    expect(tab.connection).to_have_attribute("data-state", "online", timeout=timeout_ms)
    return time.monotonic()


def test_after_a_server_restart_everyone_is_shown_again_within_two_seconds(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Restart\n")
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    ben = person("Ben").open(server.url + note["url"]).wait_ready()
    ana.wait_names("Ana", "Ben")
    ben.wait_names("Ana", "Ben")

    server.stop()
    expect(ana.connection).not_to_have_attribute("data-state", "online")
    expect(ben.connection).not_to_have_attribute("data-state", "online")
    server.start()
    for tab in (ana, ben):
        wait_online(tab)
    # Both are back; from here on each must show the other within 2 s.
    ana.wait_names("Ana", "Ben", timeout_ms=int(BACK_WITHIN_S * 1000))
    ben.wait_names("Ana", "Ben", timeout_ms=int(BACK_WITHIN_S * 1000))
    expect(ana.page.locator("#presence-count")).to_have_text("2 here")


def test_after_a_link_replacement_the_replacer_sees_everyone_within_two_seconds(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Rotate\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()
    ana.wait_names("Ana", "Vic")

    ana.page.locator("#share-open").click()
    section = ana.page.locator('[data-rotate="edit"]')
    section.locator("[data-ask]").click()
    section.locator("[data-confirm]").click()
    expect(ana.page).not_to_have_url(shared_server.url + note["url"])
    ana.page.keyboard.press("Escape")
    wait_online(ana)
    ana.wait_names("Ana", "Vic", timeout_ms=int(BACK_WITHIN_S * 1000))
    vic.wait_names("Ana", "Vic", timeout_ms=int(BACK_WITHIN_S * 1000))
