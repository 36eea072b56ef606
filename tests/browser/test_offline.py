"""Edits made without a connection are kept (in memory and in IndexedDB) and merge later.

Playwright's ``context.set_offline`` blocks traffic but leaves an open websocket
open in Chromium; the page drops its socket itself when the browser says it is
offline, so both that and a stopped server are tested here.
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest
from browser.notepage import COUNT_RECORDS_JS, KEPT_OFFLINE_JS, PersonFactory, wait_until
from playwright.sync_api import expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser


def test_edits_typed_offline_wait_and_then_merge_with_the_others(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Offline\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()

    for tab in (ana, ben):
        tab.page.context.set_offline(True)
        expect(tab.connection).to_have_attribute("data-state", "offline")
    ana.type("Ana on the train. ")
    ben.type("Ben in a tunnel. ")
    expect(ana.save_state).to_have_text(f"{len('Ana on the train. ')} edits waiting")
    expect(ana.save_state).to_have_attribute("data-state", "waiting")
    assert "Ben" not in ana.text()

    for tab in (ana, ben):
        tab.page.context.set_offline(False)
    for tab in (ana, ben):
        tab.wait_ready()
        tab.wait_text("Ana on the train.")
        tab.wait_text("Ben in a tunnel.")
    assert ana.text() == ben.text()
    assert shared_server.get_note(note["id"]).json()["content"] == ana.text()


def test_an_edit_made_offline_survives_closing_the_tab_before_the_server_returns(
    server: ServerProcess, person: PersonFactory
) -> None:
    note = server.post_note("# Kept locally\n")
    ana_profile = person("Ana")
    ana = ana_profile.open(server.url + note["url"]).wait_ready()
    stored_before = ana.page.evaluate(COUNT_RECORDS_JS, [f"collab-notes/{note['id']}", "updates"])

    server.stop()
    expect(ana.connection).to_have_attribute("data-state", "reconnecting")
    words = "written offline, tab closed"
    ana.type(words)
    # One IndexedDB record per keystroke: wait until all of them are written.
    wait_until(
        lambda: (
            ana.page.evaluate(COUNT_RECORDS_JS, [f"collab-notes/{note['id']}", "updates"])
            >= stored_before + len(words)
        ),
        message="the edits to reach IndexedDB",
    )
    ana.page.close()

    server.start()
    assert words not in server.get_note(note["id"]).json()["content"]
    ana = ana_profile.open(server.url + note["url"]).wait_ready()
    ana.wait_text(words)
    wait_until(
        lambda: words in server.get_note(note["id"]).json()["content"],
        message="the server to receive the offline edit",
    )
    ben = person("Ben").open(server.url + note["url"]).wait_ready()
    ben.wait_text(words)


def test_a_note_reloads_and_reopens_offline_from_its_local_copy(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Field notes\n")
    profile = person("Ana")
    ana = profile.open(shared_server.url + note["url"]).wait_ready()
    ana.type("Written online. ")
    ana.wait_saved()
    wait_until(
        lambda: ana.page.evaluate(KEPT_OFFLINE_JS, f"/n/{note['id']}"),
        message="the service worker to keep the page",
    )

    profile.context.set_offline(True)
    ana.page.reload()
    ana.wait_text("Written online.")
    expect(ana.connection).to_have_attribute("data-state", "offline")
    expect(ana.connection).to_contain_text("Offline")
    expect(ana.editor).to_have_attribute("contenteditable", "true")
    ana.type("Written offline.")
    expect(ana.save_state).to_have_attribute("data-state", "waiting")
    waiting = f"{len('Written offline.')} edits waiting"
    expect(ana.save_state).to_have_text(waiting)
    # Reloaded again, still offline: the page says what waits, not "Not synced yet".
    ana.page.reload()
    ana.wait_text("Written offline.")
    expect(ana.save_state).to_have_text(waiting)

    # A second tab opened while still offline finds the same copy.
    again = profile.open(shared_server.url + note["url"])
    again.wait_text("Written offline.")
    again.page.close()

    profile.context.set_offline(False)
    ana.wait_ready()
    wait_until(
        lambda: "Written offline." in shared_server.get_note(note["id"]).json()["content"],
        message="the offline edit to reach the server",
    )


def test_the_service_worker_is_served_for_the_whole_site_under_a_strict_policy(
    shared_server: ServerProcess,
) -> None:
    response = http.get(shared_server.url + "/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-security-policy"] == "default-src 'none'; connect-src 'self'"
    page = http.get(shared_server.url + "/")
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["worker-src"] == "'self'"
    assert policy["script-src"] == "'self'"


# IndexedDB's writes held back, as when a page unloads before they are done.
LAST_UPDATES_KEY = "collab-notes/last-updates/"  # + the edit token (store.js)

HOLD_INDEXEDDB = """(() => {
  const add = IDBObjectStore.prototype.add
  IDBObjectStore.prototype.add = function (...args) {
    if (window.holdIndexedDB) return {}  // a request that never completes
    return add.apply(this, args)
  }
})()"""


def test_edits_indexeddb_had_not_stored_when_the_page_unloaded_come_back_on_reload(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    # Seen in CI: a reload right after typing offline showed "Written off" of
    # "Written offline." while the page had counted 16 edits waiting.
    note = shared_server.post_note("# Field notes\n")
    profile = person("Ana")
    profile.context.add_init_script(HOLD_INDEXEDDB)
    ana = profile.open(shared_server.url + note["url"]).wait_ready()
    # What the server sent (its first sync is the whole note) is not held in localStorage.
    ana.page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    held = ana.page.evaluate("(key) => localStorage.getItem(key)", LAST_UPDATES_KEY + note["id"])
    assert held is None, held
    ana.type("Online. ")
    ana.wait_saved()
    name = f"collab-notes/{note['id']}"
    stored = wait_until(lambda: ana.page.evaluate(COUNT_RECORDS_JS, [name, "updates"]))
    wait_until(lambda: ana.page.evaluate(COUNT_RECORDS_JS, [name, "updates"]) == stored)
    wait_until(
        lambda: ana.page.evaluate(KEPT_OFFLINE_JS, f"/n/{note['id']}"),
        message="the service worker to keep the page",
    )
    profile.context.set_offline(True)
    ana.page.evaluate("() => { window.holdIndexedDB = true }")
    ana.type("Held.")
    expect(ana.save_state).to_have_text(f"{len('Held.')} edits waiting")
    assert (
        ana.page.evaluate(COUNT_RECORDS_JS, [name, "updates"]) == stored
    )  # none reached IndexedDB

    ana.page.reload()  # IndexedDB works again; the held edits come from localStorage
    ana.wait_text("# Field notes\nOnline. Held.")
    expect(ana.save_state).to_have_text(f"{len('Held.')} edits waiting")
    profile.context.set_offline(False)
    ana.wait_ready()
    wait_until(
        lambda: shared_server.get_note(note["id"]).json()["content"].endswith("Online. Held."),
        message="the held edits to reach the server",
    )


def _png(side: int) -> bytes:
    """A grey PNG of ``side`` x ``side``."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        check = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + check

    head = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"".join(b"\x00" + b"\x60" * side for _ in range(side)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


FAR_IMAGE_LOADED_JS = """() => {
  const image = document.querySelector('#preview img[alt="far.png"]')
  image?.scrollIntoView()
  return image !== null && image.complete && image.naturalWidth > 0
}"""


def test_an_image_below_the_fold_never_scrolled_to_opens_offline_once_the_page_was_left(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    data = _png(24)
    file_id = hashlib.sha256(data).hexdigest()
    filler = "".join(f"Line {n} of a long note.\n\n" for n in range(150))
    note = shared_server.post_note(f"# Far\n\n{filler}![far.png](attachment:{file_id})\n")
    uploaded = http.post(
        f"{shared_server.url}/api/notes/{note['id']}/files",
        files={"file": ("far.png", data, "image/png")},
        timeout=10,
    )
    assert uploaded.status_code == 201 and uploaded.json()["id"] == file_id
    profile = person("Ana")
    ana = profile.open(shared_server.url + note["url"]).wait_ready()
    expect(ana.preview.locator("img[alt='far.png']")).to_have_count(1)
    wait_until(
        lambda: ana.page.evaluate(KEPT_OFFLINE_JS, f"/n/{note['id']}"),
        message="the service worker to keep the page",
    )
    ana.page.goto(shared_server.url + "/")  # the note's page is left: its images are kept
    path = f"/api/notes/{note['id']}/files/{file_id}"
    wait_until(lambda: ana.page.evaluate(KEPT_OFFLINE_JS, path), message="the far image to be kept")

    profile.context.set_offline(True)
    cdp = profile.context.new_cdp_session(ana.page)
    cdp.send("Network.clearBrowserCache")  # so the image can come only from the worker
    cdp.detach()
    ana.page.goto(shared_server.url + note["url"])
    expect(ana.connection).to_have_attribute("data-state", "offline")
    expect(ana.preview.locator("img[alt='far.png']")).to_have_count(1)
    wait_until(
        lambda: ana.page.evaluate(FAR_IMAGE_LOADED_JS), message="the far image to show offline"
    )
