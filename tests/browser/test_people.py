"""People as the others see them: carets that carry the current name and appear once
placed, someone gone quiet shown away, and a blip that announces nothing."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from browser.notepage import PersonFactory, wait_until
from playwright.sync_api import BrowserContext, WebSocketRoute, expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

AWAY = re.compile(r"\baway\b")
# presence.js: a "left" waits 6 s for the person to come back.
FOLD_S = 6.0

RECORD_TOASTS = """() => {
  window.__toasts = []
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) window.__toasts.push(node.textContent)
    }
  }).observe(document.querySelector('#toasts'), { childList: true })
}"""


@dataclass
class Line:
    """A person's websockets through Playwright: ``frozen`` drops every frame both ways,
    as a lost network does, without closing anything."""

    frozen: bool = False

    def route(self, context: BrowserContext) -> Line:
        def handler(client: WebSocketRoute) -> None:
            server = client.connect_to_server()
            client.on_message(lambda message: None if self.frozen else server.send(message))
            server.on_message(lambda message: None if self.frozen else client.send(message))

        context.route_web_socket(re.compile(r".*/ws/.*"), handler)
        return self


def test_a_caret_shows_its_owners_current_name_and_only_once_placed(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Carets\n\nFirst paragraph.\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    vic = person("Vic").open(shared_server.url + note["url"]).wait_ready()  # never clicks
    ana.wait_names("Ana", "Ben", "Vic")
    ben.type_at_end_of("First paragraph.", " Ben was here.")
    ana.wait_text("Ben was here.")
    labels = ana.page.locator(".cm-ySelectionCaret .cm-ySelectionInfo")
    expect(labels).to_have_text(["Ben"])

    ben.rename("Benedict")
    expect(labels).to_have_text(["Benedict"])
    expect(ana.toasts.filter(has_text="Ben is now Benedict")).to_have_count(1)
    # Vic's rename comes after anything his page sent before: still no caret of his.
    vic.rename("Victor")
    ana.wait_names("Ana", "Benedict", "Victor")
    expect(labels).to_have_text(["Benedict"])


def test_someone_whose_network_is_lost_is_shown_away_within_seconds_and_back(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Quiet\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben_profile = person("Ben")
    line = Line().route(ben_profile.context)
    ben = ben_profile.open(shared_server.url + note["url"]).wait_ready()
    ben.type("\nBen types.")
    ana.wait_text("Ben types.")
    chip = ana.people.filter(has_text="Ben")
    caret = ana.page.locator(".cm-ySelectionCaret", has_text="Ben")
    expect(caret).to_be_visible()
    expect(chip).not_to_have_class(AWAY)

    line.frozen = True
    lost = time.monotonic()
    expect(chip).to_have_class(AWAY, timeout=20_000)
    print(f"\nBen shown away {time.monotonic() - lost:.1f} s after his network was lost")
    expect(caret).to_have_class(AWAY)
    expect(chip).to_contain_text("away")

    line.frozen = False
    back = time.monotonic()
    expect(chip).not_to_have_class(AWAY, timeout=20_000)
    expect(caret).not_to_have_class(AWAY)
    print(f"Ben shown back {time.monotonic() - back:.1f} s after his network was")


def test_a_blip_of_a_few_seconds_announces_neither_left_nor_joined(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Blip\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ana.wait_names("Ana", "Ben")
    ana.page.evaluate(RECORD_TOASTS)

    ben.page.context.set_offline(True)
    dropped = time.monotonic()
    expect(ben.connection).not_to_have_attribute("data-state", "online")
    wait_until(lambda: time.monotonic() > dropped + 4, 10, message="a blip of 4 s")
    ben.page.context.set_offline(False)
    ben.wait_ready()
    ben.type(" Ben is back.")
    ana.wait_text("Ben is back.")
    ana.wait_names("Ana", "Ben")
    # Vic arrives after the fold window: a "Ben left" held back would be shown by then.
    wait_until(lambda: time.monotonic() > dropped + FOLD_S + 1, 15, message="the fold window")
    person("Vic").open(shared_server.url + note["url"]).wait_ready()
    expect(ana.toasts.filter(has_text="Vic joined")).to_have_count(1)
    assert ana.page.evaluate("() => window.__toasts") == ["Vic joined"]
