"""Comments in the browser: two people, one with the edit link and one with the comment
link, comment, reply, resolve and reopen; the marks follow the text and outlive it."""

from __future__ import annotations

import pytest
from browser.notepage import NoteTab, PersonFactory
from playwright.sync_api import expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

TEXT = "# Minutes\n\nThe budget is 40k.\nNext steps.\n"
SECOND = 1000  # ms: everyone present sees a comment within a second


WORD_AT_JS = """(word) => {
  const content = document.querySelector('#editor .cm-content')
  const walker = document.createTreeWalker(content, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.textContent.indexOf(word)
    if (at < 0) continue
    const range = document.createRange()
    range.setStart(node, at)
    range.setEnd(node, at + word.length)
    const box = range.getBoundingClientRect()
    return { x: box.left + box.width / 2, y: box.top + box.height / 2 }
  }
  return null
}"""


def select_word(tab: NoteTab, word: str) -> None:
    """Double-click ``word`` in the editor, as a person selects it."""
    where = tab.page.evaluate(WORD_AT_JS, word)
    assert where is not None, f"{word!r} is not in the editor"
    tab.page.mouse.dblclick(where["x"], where["y"])


def test_two_people_comment_reply_resolve_and_the_anchor_follows_and_outlives_its_text(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(TEXT)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    rev = person("Rev").open(shared_server.url + note["comment_url"]).wait_ready()

    # The comment link: read-only text, commenting allowed.
    expect(rev.editor).to_have_attribute("contenteditable", "false")
    select_word(rev, "budget")
    rev.page.keyboard.press("Control+Alt+m")
    rev.page.keyboard.type("Is this enough?")
    rev.page.locator("#comments .comment-new [type=submit]").click()
    threads = ana.page.locator("#comments .thread")
    expect(threads).to_have_count(1, timeout=SECOND)
    expect(threads.locator(".thread-quote")).to_have_text("budget")
    expect(ana.page.locator("#editor .cm-comment")).to_have_text("budget", timeout=SECOND)
    expect(ana.page.locator("#comments-open")).to_have_text("Comments (1)")

    # Edits before, inside and after the anchored words keep the anchor on them.
    ana.page.locator("#editor .cm-line", has_text="The budget").click()
    ana.page.keyboard.press("Home")
    ana.page.keyboard.type("Now: ")
    for _ in range(len("The bud")):
        ana.page.keyboard.press("ArrowRight")
    ana.page.keyboard.type("XX")
    ana.page.keyboard.press("End")
    ana.page.keyboard.type(" Agreed.")
    for tab in (ana, rev):
        expect(tab.page.locator("#editor .cm-comment")).to_have_text("budXXget")
    rev.page.keyboard.type("vandalism")  # read-only: nothing is typed

    # A reply, seen at once; choosing the thread highlights its text.
    ana.page.locator("#comments-open").click()
    ana.page.locator("#comments .thread-reply").fill("Yes, with margin.")
    ana.page.locator("#comments [data-reply]").click()
    expect(rev.page.locator("#comments .comment-body")).to_have_text(
        ["Is this enough?", "Yes, with margin."], timeout=SECOND
    )
    expect(rev.page.locator("#comments")).to_be_visible()  # open since Rev commented

    # Ana edits her reply in place (an empty edit: the server's reason; Esc cancels);
    # Rev sees the new words within a second, and has Edit on his comment only.
    reply_id = ana.page.locator("#comments .comment").nth(1).get_attribute("data-comment")
    mine = ana.page.locator(f'#comments .comment[data-comment="{reply_id}"]')
    mine.locator("[data-edit-comment]").click()
    mine.locator(".comment-edit").fill(" ")
    mine.locator("[data-save-comment]").click()
    expect(mine.locator(".comment-problem")).to_contain_text("the comment is empty")
    mine.locator(".comment-edit").press("Escape")
    expect(mine.locator(".comment-edit")).to_have_count(0)
    mine.locator("[data-edit-comment]").click()
    mine.locator(".comment-edit").fill("Yes, with a 10% margin.")
    mine.locator("[data-save-comment]").click()
    said = rev.page.locator("#comments .comment")
    expect(said.locator(".comment-body")).to_have_text(
        ["Is this enough?", "Yes, with a 10% margin."], timeout=SECOND
    )
    expect(said.nth(1).locator("[data-edit-comment]")).to_have_count(0)
    expect(said.nth(0).locator("[data-edit-comment]")).to_have_count(1)
    rev.page.locator("#comments .thread-quote").click()
    expect(rev.page.locator("#editor .cm-comment-chosen")).to_have_text("budXXget")

    # Resolve (the comment link) and reopen (the edit link), each seen by the other.
    rev.page.locator("#comments [data-flip]").click()
    expect(ana.page.locator("#comments .thread.resolved")).to_have_count(1, timeout=SECOND)
    expect(ana.page.locator("#editor .cm-comment")).to_have_count(0)
    ana.page.locator("#comments [data-flip]").click()
    expect(rev.page.locator("#comments .thread.resolved")).to_have_count(0, timeout=SECOND)
    expect(rev.page.locator("#comments-open")).to_have_text("Comments (1)")

    # Its text deleted: the thread stays, marked, with the words it was on.
    ana.delete_lines("Now: The budXXget", 1)
    for tab in (ana, rev):
        expect(tab.page.locator("#comments .thread-removed")).to_be_visible()
        expect(tab.page.locator("#comments .thread-quote")).to_have_text("budget")
        expect(tab.page.locator("#editor .cm-comment")).to_have_count(0)
    ana.wait_saved()
    stored = shared_server.get_note(note["id"]).json()["content"]
    assert stored == "# Minutes\n\nNext steps.\n" and "vandalism" not in stored


def test_a_comment_written_offline_is_kept_and_sent_on_its_words_once_back_online(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(TEXT)
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.page.context.set_offline(True)
    expect(ana.connection).to_have_attribute("data-state", "offline")
    select_word(ana, "budget")
    ana.page.keyboard.press("Control+Alt+m")
    ana.page.keyboard.type("Written on the train.")
    ana.page.locator("#comments .comment-new [type=submit]").click()
    expect(ana.page.get_by_text("Offline: the comment is kept")).to_be_visible()
    ana.page.locator("#editor .cm-line", has_text="The budget").click()
    ana.page.keyboard.press("Home")
    ana.page.keyboard.type("Offline too: ")  # moves the words the comment is on
    ana.page.reload()  # kept across a reload, still offline
    ana.wait_text("Offline too: The budget")
    ana.page.context.set_offline(False)
    ana.wait_ready()
    threads = ana.page.locator("#comments .thread")
    expect(threads).to_have_count(1)
    expect(threads.locator(".thread-quote")).to_have_text("budget")
    expect(ana.page.locator("#editor .cm-comment")).to_have_text("budget")
    answer = http.get(f"{shared_server.url}/api/notes/{note['id']}/comments").json()
    [thread] = answer["threads"]
    assert thread["quote"] == "budget"
    assert [c["body"] for c in thread["comments"]] == ["Written on the train."]
    assert (
        ana.page.evaluate("Object.keys(localStorage).filter(k => k.includes('pending-comments'))")
        == []
    )
