"""``export.md?comments=``: a note's comments as footnotes or CriticMarkup, where their
words are now, escaped, with the threads on removed text last; any link reads them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.http import http
from support.live import LiveServer
from support.yclient import YClient

from storage.comments import Said, Thread
from web.commented_export import CommentStyle, with_comments

TEXT = "# Café 😀 plan\n\nThe budget is 40k.\nOld line here.\n"
TRICKY = "Too *much*? See [^c9] and <b>x</b> {>>no<<} ]"
REPLY = "Multi\n# not a heading\n  1. not a list"


def units(text: str) -> int:
    """A string's length as Yjs counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def comment_on(live: LiveServer, token: str, words: str, **said: str) -> dict[str, Any]:
    start = units(TEXT[: TEXT.index(words)])
    span = {"from": start, "to": start + units(words)}
    response = http.post(f"{live.url}/api/notes/{token}/comments", json=said | span)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def when(said: dict[str, Any]) -> str:
    return datetime.fromisoformat(said["created_at"]).strftime("%Y-%m-%d %H:%M UTC")


async def test_export_writes_the_comments_as_footnotes_or_criticmarkup_escaped(
    live: LiveServer,
) -> None:
    note = live.post_note(TEXT)
    edit, view = note["id"], note["view_id"]
    base = f"{live.url}/api/notes/{edit}/comments"
    tricky = comment_on(live, edit, "budget", body=TRICKY, author="Ana")
    reply = http.post(f"{base}/{tricky['id']}/replies", json={"body": REPLY, "author": "Ben"})
    wide = comment_on(live, edit, "budget is", body="and this", author="Ben")
    fine = comment_on(live, edit, "40k", body="fine", author="Ana")
    http.post(f"{base}/{fine['id']}/resolve").raise_for_status()
    gone = comment_on(live, edit, "Old line", body="gone soon")
    async with YClient.connect(live.ws_url, edit) as editor:
        start = len(TEXT[: TEXT.index("Old line")].encode())
        del editor.text[start : start + len("Old line here.\n")]
        await editor.wait_saved()
    times = [when(t["comments"][0]) for t in (tricky, wide, fine, gone)]
    replied = when(reply.json()["comments"][1])
    ana = rf"**Ana**, {times[0]}: Too \*much\*? See \[\^c9\] and \<b\>x\</b\> \{{\>\>no\<\<\}} \]"
    removed = f"[^c4]: On removed text: “Old line”.\n\n    **Anonymous**, {times[3]}: gone soon\n"

    def export(token: str, style: str) -> str:
        response = http.get(f"{live.url}/api/notes/{token}/export.md?comments={style}")
        assert response.status_code == 200, response.text
        return response.text

    assert export(view, "footnotes") == (  # a view link reads the comments: it exports them
        "# Café 😀 plan\n\nThe budget[^c1] is[^c2] 40k[^c3].\n\n"
        "Comments on removed text: [^c4]\n\n"
        f"[^c1]: {ana}\n\n"
        f"    **Ben**, {replied}: Multi\\\n    \\# not a heading\\\n    1\\. not a list\n"
        f"[^c2]: **Ben**, {times[1]}: and this\n"
        f"[^c3]: (resolved) **Ana**, {times[2]}: fine\n" + removed
    )
    critic_ana = ana.replace("**Ana**, " + times[0], "Ana")
    assert export(edit, "critic") == (
        "# Café 😀 plan\n\nThe {==budget==}"
        f"{{>>{critic_ana}<<}}{{>>Ben: Multi \\# not a heading 1\\. not a list<<}}"
        " is{>>Ben: and this<<} {==40k==}{>>Ana: fine<<}{>>(resolved)<<}.\n\n"
        "Comments on removed text: [^c1]\n\n" + removed.replace("c4", "c1")
    )
    assert http.get(f"{live.url}/api/notes/{edit}/export.md").text == TEXT.replace(
        "Old line here.\n", ""
    )  # without the option: the text alone, as before
    wrong = http.get(f"{live.url}/api/notes/{edit}/export.md?comments=html")
    assert wrong.status_code == 422 and "'footnotes' or 'critic'" in wrong.text, wrong.text
    rotated = http.post(f"{live.url}/api/notes/{edit}/rotate", json={"which": "view"})
    assert rotated.status_code == 200
    old = http.get(f"{live.url}/api/notes/{view}/export.md?comments=footnotes")
    assert old.status_code == 404


def test_a_highlight_keeps_to_one_line_and_begins_after_its_block_marker() -> None:
    """``{==`` before ``# `` would turn a heading into a paragraph, and a highlight over
    a line break could hold a line that begins a block: such words get comments alone."""
    text = "# Title\n- item one\nnext\n"
    said = [Said(1, "Ana", "hm", datetime(2026, 1, 2, 3, 4, tzinfo=UTC), None)]
    threads = [
        Thread(n, "", False, b"", b"", datetime(2026, 1, 2, tzinfo=UTC), said) for n in (1, 2)
    ]
    spans = [(0, len("# Title")), (text.index("item"), text.index("next") + 2)]
    assert with_comments(text, threads, spans, CommentStyle.CRITIC) == (
        "# {==Title==}{>>Ana: hm<<}\n- item one\nne{>>Ana: hm<<}xt\n"
    )
