"""Two people in one note: edits converge, presence and cursors follow them live."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

SHOPPING = """# Weekend plans

Saturday we **bake**, Sunday is for the garden.

## To do
- [x] Buy flour and yeast
- [ ] Bake bread
- [ ] Call grandma

> The bakery closes at 2 pm.

```python
def ready(dough, hours):
    return hours >= 2 and dough.doubled  # let it rise
```

| Day | Who |
|-----|-----|
| Sat | Ana |
| Sun | Ben |

"""


def test_two_people_co_editing_a_note_converge_on_the_same_text(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(SHOPPING)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()

    # Both type without waiting for each other, so their edits cross on the wire.
    ana.type("Ana was here. ")
    ben.type("Ben too. ")
    ana.type("And again.")

    for tab in (ana, ben):
        for words in ("Ana was here.", "Ben too.", "And again."):
            tab.wait_text(words)
    ana.wait_text(ben.text(), exact=True)
    ana.wait_saved()
    ben.wait_saved()
    assert shared_server.get_note(note["id"]).json()["content"] == ana.text()


def test_presence_shows_everyone_and_announces_arrivals_and_departures(
    shared_server: ServerProcess, person: PersonFactory, artifacts: Path
) -> None:
    note = shared_server.post_note(SHOPPING)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.wait_names("Ana")
    layout = boxes(ana)
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()

    ana.wait_names("Ana", "Ben")
    assert boxes(ana) == layout, "the page moved when Ben arrived"
    ben.wait_names("Ana", "Ben")
    expect(ana.toasts.filter(has_text="Ben joined")).to_have_count(1)
    expect(ben.toasts).to_have_count(0)  # Ana was already here: no news for Ben

    ben.type("Bring jam.")
    ana.wait_text("Bring jam.")
    # Ben's caret shows in Ana's editor, labelled with his name in his colour.
    caret = ana.page.locator(".cm-ySelectionCaret", has_text="Ben")
    expect(caret).to_be_visible()
    expect(ana.preview).to_contain_text("Bring jam.")
    take_screenshot(ana, artifacts / "two-people-ana.png")
    take_screenshot(ben, artifacts / "two-people-ben.png")

    ben.page.close()
    ana.wait_names("Ana")
    # "left" waits 6 s for a comeback (a blip announces nothing: test_people.py).
    expect(ana.toasts.filter(has_text="Ben left")).to_have_count(1, timeout=10_000)
    assert boxes(ana) == layout, "the page moved when Ben left"


def test_a_new_name_reaches_the_others_at_once_and_is_remembered(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Names\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben_profile = person("Ben")
    ben = ben_profile.open(shared_server.url + note["url"]).wait_ready()
    ana.wait_names("Ana", "Ben")

    ben.rename("Benedict")
    ana.wait_names("Ana", "Benedict")

    ben.page.reload()
    ben.wait_ready()
    expect(ben.page.locator("#my-name")).to_have_value("Benedict")
    ana.wait_names("Ana", "Benedict")


def take_screenshot(tab: NoteTab, path: Path) -> None:
    """Screenshot without the blinking caret, so two runs look alike."""
    tab.page.screenshot(path=str(path), caret="hide", animations="disabled")


def boxes(tab: NoteTab) -> list[dict[str, float] | None]:
    """Where the editor, the preview and the bars are: none may move as people come and go."""
    selectors = ("#editor", "#preview", ".presence-bar", ".topbar")
    return [tab.page.locator(selector).bounding_box() for selector in selectors]


# A hand-made y-websocket client: one awareness message with a hostile `user`, and
# a cursor at the end of the note so that y-codemirror draws a caret for it.
HOSTILE_PEER = """async (url) => {
  const varuint = (n) => {
    const out = []
    for (; n > 127; n >>>= 7) out.push(128 | (n & 127))
    return [...out, n]
  }
  const bytes = (array) => [...varuint(array.length), ...array]
  const end = { type: null, tname: 'content', item: null, assoc: 0 } // a Y.RelativePosition
  const state = JSON.stringify({
    user: { name: 'Mallory', color: 'red; background-image: url(https://example.invalid/x)',
            colorLight: 'red; position: fixed; inset: 0' },
    cursor: { anchor: end, head: end }
  })
  const encoded = [...new TextEncoder().encode(state)]
  const update = [...varuint(1), ...varuint(4242), ...varuint(1), ...bytes(encoded)]
  const socket = new WebSocket(url)
  socket.binaryType = 'arraybuffer'
  await new Promise((resolve) => { socket.onopen = resolve })
  socket.send(new Uint8Array([1, ...bytes(update)]))
  window.__mallory = socket
}"""


def test_a_peers_colour_can_never_inject_css(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Colours\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    mallory = person("Mallory").open(shared_server.url + "/")
    mallory.page.evaluate(HOSTILE_PEER, f"{shared_server.ws_url}/{note['id']}")

    ana.wait_names("Ana", "Mallory")
    caret = ana.page.locator(".cm-ySelectionCaret", has_text="Mallory")
    expect(caret).to_be_visible()
    style = caret.get_attribute("style") or ""
    assert "url(" not in style and "#8a8f98" in style
    assert not ana.page.locator("#editor [style*='fixed']").count()
