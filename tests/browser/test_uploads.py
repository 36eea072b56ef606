"""Images and files in a note, as people use them: pasted, dropped, seen by the others,
read through a view link, refused with a reason, and uploaded after a time offline.

One note and one session of pages for all of it: browser tests are the costly ones.
"""

from __future__ import annotations

import base64
import struct
import time
import zlib
from pathlib import Path

import pytest
from browser.notepage import COUNT_RECORDS_JS, KEPT_OFFLINE_JS, NoteTab, PersonFactory, wait_until
from playwright.sync_api import Browser, Page, expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

# A File in the page, handed to the editor as a person's paste or drop would hand it.
GIVE_FILE_JS = """async ([how, name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0))
  const transfer = new DataTransfer()
  transfer.items.add(new File([bytes], name, { type }))
  const content = document.querySelector('#editor .cm-content')
  const given = { bubbles: true, cancelable: true }
  if (how === 'paste') {
    content.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, ...given }))
    return
  }
  const line = [...content.querySelectorAll('.cm-line')].pop().getBoundingClientRect()
  const at = { clientX: line.right - 2, clientY: line.bottom - 2 } // the end of the note
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    content.dispatchEvent(new DragEvent(kind, { dataTransfer: transfer, ...given, ...at }))
  }
}"""


# How many files of a link the service worker keeps (sw.js).
KEPT_FILES_JS = """async (token) => {
  const files = await caches.open('collab-notes-files-v1')
  const prefix = `/api/notes/${token}/files/`
  return (await files.keys()).filter((r) => new URL(r.url).pathname.startsWith(prefix)).length
}"""

LOADED_IMAGE_JS = """(alt) => {
  const image = [...document.querySelectorAll('#preview img')].find((img) => img.alt === alt)
  const loaded = image !== undefined && image.complete && image.naturalWidth > 0
  return loaded ? image.getAttribute('src') : null
}"""


def png(width: int, height: int, rows: int | None = None, shade: int = 0x80) -> bytes:
    """A grey PNG of ``width`` x ``height``; ``rows`` of pixel data, all of them by default
    (fewer make a header that promises more than it holds, as a bomb's does)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    pixels = b"".join(
        b"\x00" + bytes([shade]) * width for _ in range(height if rows is None else rows)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def give(tab: NoteTab, how: str, name: str, kind: str, data: bytes, *, focus: bool = True) -> None:
    """Paste or drop a file ``name`` into the editor, at the end of the note."""
    if focus and tab.editor.is_visible():  # a view link's page shows the reading pane alone
        tab.editor.click()
        tab.page.keyboard.press("Control+End")
    tab.page.evaluate(GIVE_FILE_JS, [how, name, kind, base64.b64encode(data).decode()])


def loaded_image(page: Page, alt: str, timeout_ms: int) -> str:
    """The address of the preview's image ``alt`` once it has loaded."""
    handle = page.wait_for_function(LOADED_IMAGE_JS, arg=alt, timeout=timeout_ms)
    return str(handle.json_value())


def test_pasted_and_dropped_files_reach_everyone_and_a_view_link_reads_them_by_its_own_token(
    shared_server: ServerProcess, person: PersonFactory, browser: Browser
) -> None:
    note = shared_server.post_note("# Trip\n\n")
    edit, view = note["id"], note["view_id"]
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()

    ana.editor.click()
    ana.page.keyboard.press("Control+End")
    started = time.monotonic()
    give(ana, "paste", "shot.png", "image/png", png(40, 30), focus=False)
    give(ana, "drop", "plan.pdf", "application/pdf", PDF, focus=False)
    # Both within 2 s of the paste: the image loaded, the link shown.
    shot = loaded_image(ben.page, "shot.png", timeout_ms=2000)
    left_ms = 2000 - 1000 * (time.monotonic() - started)
    link = ben.preview.locator("a.attachment", has_text="plan.pdf")
    expect(link).to_be_visible(timeout=max(1, left_ms))
    seen_s = time.monotonic() - started
    assert shot.startswith(f"/api/notes/{edit}/files/")
    pdf = link.get_attribute("href") or ""
    assert pdf.startswith(f"/api/notes/{edit}/files/")
    ana.wait_text("](attachment:")
    text = ana.text()
    assert "![shot.png](attachment:" in text and "[plan.pdf](attachment:" in text
    assert edit not in shared_server.get_note(edit).json()["content"]  # no token in the text
    print(f"\nthe other person saw the image and the link {seen_s:.2f} s after the paste")

    # A refused file says why, and leaves nothing behind (a 20,000 x 20,000 PNG bomb).
    before = ana.text()
    give(ana, "paste", "bomb.png", "image/png", png(20_000, 20_000, rows=1))
    refusal = ana.toasts.filter(has_text="Could not upload “bomb.png”: the image is too large")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("decompression bomb")  # the server's reason, in its words
    expect(ana.page.locator(".upload-placeholder")).to_have_count(0)
    assert ana.text() == before

    # Picked with More → Insert image or file…
    with ana.page.expect_file_chooser() as chooser:
        ana.page.locator("#menu-open").click()
        ana.page.get_by_role("button", name="Insert image or file…").click()
    chooser.value.set_files(
        {"name": "picked.png", "mimeType": "image/png", "buffer": png(12, 12, shade=0xF0)}
    )
    loaded_image(ben.page, "picked.png", timeout_ms=5000)

    # Pasted offline: kept in the browser (across a reload), uploaded when the
    # connection returns.
    wait_until(
        lambda: ana.page.evaluate(KEPT_OFFLINE_JS, f"/n/{edit}"),
        message="the service worker to keep the page",
    )
    ana.page.context.set_offline(True)
    expect(ana.connection).to_have_attribute("data-state", "offline")
    give(ana, "paste", "train.png", "image/png", png(20, 20, shade=0x20))
    expect(ana.page.locator(".upload-placeholder")).to_have_text("Waiting to upload train.png…")
    wait_until(
        lambda: ana.page.evaluate(COUNT_RECORDS_JS, ["collab-notes-uploads", "files"]) == 1,
        message="the file kept",
    )
    # The images open offline from the service worker's copy, not the HTTP cache.
    cdp = ana.page.context.new_cdp_session(ana.page)
    cdp.send("Network.clearBrowserCache")
    cdp.detach()
    ana.page.reload()
    expect(ana.connection).to_have_attribute("data-state", "offline")
    for alt in ("shot.png", "picked.png"):
        assert loaded_image(ana.page, alt, timeout_ms=5000).startswith(f"/api/notes/{edit}/files/")
    ana.page.context.set_offline(False)
    loaded_image(ben.page, "train.png", timeout_ms=10_000)
    expect(ana.page.locator(".upload-placeholder")).to_have_count(0)

    # The history's rendered view shows them too, through this page's own link.
    history = ana.history()
    history.select(0)
    history.choose("Rendered")
    expect(history.dialog.locator(".version-rendered img[alt='shot.png']")).to_have_attribute(
        "src", shot
    )
    ana.page.keyboard.press("Escape")

    # A view link: the files by the view token, and nothing to upload with.
    vic = person("Vic").open(shared_server.url + note["view_url"]).wait_ready()
    view_shot = loaded_image(vic.page, "shot.png", timeout_ms=5000)
    assert view_shot == shot.replace(edit, view)
    assert edit not in vic.page.content()
    expect(vic.page.locator("[data-insert-file], #file-pick")).to_have_count(0)
    posted: list[str] = []
    vic.page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    before = vic.text()
    give(vic, "paste", "sneaky.png", "image/png", png(8, 8))
    give(vic, "drop", "sneaky.pdf", "application/pdf", PDF)
    assert posted == [] and vic.text() == before

    # Printing loads every image, not only those scrolled to.
    vic.page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    expect(vic.preview.locator("img[alt='shot.png']")).to_have_attribute("loading", "eager")

    # With scripts blocked, the reading page shows the image (the server's rendering).
    blocked = browser.new_context(java_script_enabled=False)
    try:
        page = blocked.new_page()
        images: list[int] = []
        page.on("response", lambda r: images.append(r.status) if "/files/" in r.url else None)
        page.goto(shared_server.url + note["view_url"])
        expect(page.locator("#preview img[alt='shot.png']")).to_have_attribute("src", view_shot)
        assert edit not in page.content()
        page.wait_for_load_state("load")
        assert 200 in images
    finally:
        blocked.close()

    # A replaced view link cuts its file addresses at once, and the copies the
    # service worker kept of them go when its page answers 404.
    wait_until(
        lambda: vic.page.evaluate(KEPT_FILES_JS, view) > 0,
        message="the service worker to keep the view page's images",
    )
    response = http.post(
        f"{shared_server.url}/api/notes/{edit}/rotate", json={"which": "view"}, timeout=10
    )
    assert response.status_code == 200
    assert http.get(shared_server.url + view_shot).status_code == 404
    assert http.get(shared_server.url + shot).status_code == 200
    vic.page.reload()
    wait_until(
        lambda: vic.page.evaluate(KEPT_FILES_JS, view) == 0,
        message="the kept images of the replaced link to go",
    )


def test_a_file_past_the_upload_rate_waits_for_retry_after_and_then_goes_in(
    person: PersonFactory, tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "notes.db", tmp_path, "--max-uploads-per-minute", "15")
    server.start()
    try:
        note = server.post_note("# Rated\n\n")
        ana = person("Ana").open(server.url + note["url"]).wait_ready()
        statuses: list[int] = []
        ana.page.on("response", lambda r: statuses.append(r.status) if "/files" in r.url else None)
        # This address spends its 15 uploads of the minute; the next waits up to 4 s.
        for shade in range(16):
            answer = http.post(
                f"{server.url}/api/notes/{note['id']}/files",
                files={"file": (f"{shade}.png", png(4, 4, shade=shade), "image/png")},
                timeout=10,
            )
            if answer.status_code == 429:
                break
        assert answer.status_code == 429, answer.text
        give(ana, "paste", "late.png", "image/png", png(8, 8))
        ana.wait_text("![late.png](attachment:")  # sent again after Retry-After
        assert 429 in statuses and statuses[-1] in (200, 201), statuses
        expect(ana.toasts.filter(has_text="Could not upload")).to_have_count(0)
    finally:
        server.discard()
