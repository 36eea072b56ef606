"""When the server turns a connection away, the page says why and what can be done."""

from __future__ import annotations

import pytest
from browser.notepage import PersonFactory
from playwright.sync_api import expect
from support.server import MakeServer

pytestmark = pytest.mark.browser


def test_a_full_note_says_so_and_lets_the_late_comer_try_again(
    make_server: MakeServer, person: PersonFactory
) -> None:
    server = make_server("--max-connections-per-note", "1").start()  # type: ignore[call-arg]
    note = server.post_note("# Small room\n")
    ana = person("Ana").open(server.url + note["url"]).wait_ready()
    ben = person("Ben").open(server.url + note["url"])

    banner = ben.page.locator("#banner")
    expect(banner).to_contain_text("The server closed this note")
    expect(banner).to_contain_text("maximum of 1 connections")
    expect(ben.connection).to_have_attribute("data-state", "closed")
    ben.type("Ben waits. ")  # still editable: the edit waits like an offline one
    expect(ben.save_state).to_have_attribute("data-state", "waiting")

    ana.page.close()
    banner.get_by_role("button", name="Try again").click()
    expect(banner).to_be_hidden()
    ben.wait_ready()
    ben.wait_text("Ben waits.")
    assert "Ben waits." in server.get_note(note["id"]).json()["content"]
