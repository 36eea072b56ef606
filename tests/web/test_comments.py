"""Comments over REST: the contract, who may do what, and what comments outlive."""

from __future__ import annotations

import threading

import pycrdt
import pytest
from support.http import http
from support.live import LiveServer
from support.server import MakeServer
from support.yclient import YClient

KEY = "k" * 24  # a browser-held key


def post(server: LiveServer, token: str, path: str = "", **body: object) -> dict[str, object]:
    response = http.post(f"{server.url}/api/notes/{token}/comments{path}", json=body)
    return {"status": response.status_code, **response.json()}


def threads(server: LiveServer, token: str) -> list[dict[str, object]]:
    response = http.get(f"{server.url}/api/notes/{token}/comments")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["threads"]
    return found


def test_comment_reply_resolve_and_reopen_by_the_edit_and_comment_links_not_the_view_link(
    live: LiveServer,
) -> None:
    note = live.post_note("Budget: 40k for travel.")
    edit, comment, view = note["id"], note["comment_id"], note["view_id"]
    started = post(live, edit, body="Too much?", author="Ana", key=KEY, **{"from": 8, "to": 11})
    assert started["status"] == 201 and started["quote"] == "40k"
    assert started["resolved"] is False
    [first] = started["comments"]  # type: ignore[misc]
    assert (first["author"], first["body"]) == ("Ana", "Too much?")
    thread = started["id"]
    replied = post(live, comment, f"/{thread}/replies", body="Agreed", author="Rev")
    assert replied["status"] == 201
    assert [c["body"] for c in replied["comments"]] == ["Too much?", "Agreed"]  # type: ignore[attr-defined]
    assert post(live, comment, f"/{thread}/resolve")["resolved"] is True
    assert threads(live, view)[0]["resolved"] is True
    assert post(live, edit, f"/{thread}/reopen")["resolved"] is False
    on_travel = post(live, comment, body="Which trips?", **{"from": 16, "to": 22})
    assert (on_travel["status"], on_travel["quote"]) == (201, "travel")
    listed = threads(live, view)
    assert [t["id"] for t in listed] == [thread, on_travel["id"]]
    assert set(listed[0]) == {"id", "quote", "resolved", "anchor", "created_at", "comments"}
    assert set(listed[0]["comments"][0]) == {  # type: ignore[index]
        "id",
        "author",
        "body",
        "created_at",
        "edited_at",
    }
    assert KEY not in str(listed)
    for path, body in (
        ("", {"body": "x", "from": 0, "to": 1}),
        (f"/{thread}/replies", {"body": "x"}),
    ):
        assert post(live, view, path, **body)["status"] == 403
    assert post(live, view, f"/{thread}/resolve")["status"] == 403
    assert post(live, edit, "/999999/replies", body="x")["status"] == 404
    assert post(live, edit, "/999999/resolve")["status"] == 404
    assert http.get(f"{live.url}/api/notes/nosuchlink/comments").status_code == 404


def test_an_empty_or_overlong_comment_or_a_bad_anchor_is_422_with_the_reason(
    live: LiveServer,
) -> None:
    note = live.post_note("a😀b")  # 4 UTF-16 units
    token = note["id"]
    cases = {
        "the comment is empty": {"body": "  \n", "from": 0, "to": 1},
        "at most 5000 characters": {"body": "x" * 5001, "from": 0, "to": 1},
        "0 <= from < to <= 4": {"body": "x", "from": 0, "to": 5},
        "split a character": {"body": "x", "from": 0, "to": 2},
    }
    for reason, body in cases.items():
        answer = post(live, token, **body)
        assert answer["status"] == 422 and reason in str(answer), (reason, answer)
    assert post(live, token, body="x", **{"from": 2, "to": 2})["status"] == 422
    assert post(live, token, body="ok", **{"from": 1, "to": 3})["quote"] == "😀"
    assert post(live, token, f"/{1}/replies", body="")["status"] == 422


def test_an_author_edits_and_deletes_own_comments_by_key_and_the_edit_link_deletes_threads(
    live: LiveServer,
) -> None:
    note = live.post_note("Some text here")
    edit, comment = note["id"], note["comment_id"]
    started = post(live, comment, body="typo", key=KEY, **{"from": 0, "to": 4})
    thread, mine = started["id"], started["comments"][0]["id"]  # type: ignore[index]
    url = f"{live.url}/api/notes/{comment}/comments/{thread}/comments/{mine}"
    assert http.patch(url, json={"body": "fixed", "key": "x" * 24}).status_code == 403
    changed = http.patch(url, json={"body": "fixed", "key": KEY})
    assert changed.status_code == 200 and changed.json()["comments"][0]["body"] == "fixed"
    assert changed.json()["comments"][0]["edited_at"] is not None
    post(live, edit, f"/{thread}/replies", body="a reply")
    assert http.delete(url, headers={"X-Comment-Key": "x" * 24}).status_code == 403
    assert http.delete(url, headers={"X-Comment-Key": KEY}).status_code == 204
    assert [c["body"] for c in threads(live, edit)[0]["comments"]] == ["a reply"]  # type: ignore[index]
    assert http.delete(f"{live.url}/api/notes/{comment}/comments/{thread}").status_code == 403
    assert http.delete(f"{live.url}/api/notes/{edit}/comments/{thread}").status_code == 204
    assert threads(live, edit) == []
    assert http.delete(f"{live.url}/api/notes/{edit}/comments/{thread}").status_code == 404


async def test_comments_stay_out_of_the_text_and_go_and_come_back_with_their_note(
    live: LiveServer,
) -> None:
    note = live.post_note("first words")
    token = note["id"]
    named = http.post(f"{live.url}/api/notes/{token}/versions", json={"name": "v1"}).json()
    async with YClient.connect(live.ws_url, token) as editor:
        post(live, token, body="on first", **{"from": 0, "to": 5})
        editor.append(" and more")
        await editor.wait_saved()
    assert http.get(f"{live.url}/api/notes/{token}/export.md").text == "first words and more"
    first = named
    restored = http.post(f"{live.url}/api/notes/{token}/versions/{first['id']}/restore")
    assert restored.status_code == 200
    assert restored.json()["undo"]["kind"] == "before-restore"  # (it spares the line typed)
    assert [t["quote"] for t in threads(live, token)] == ["first"]
    after = http.get(f"{live.url}/api/notes/{token}/versions").json()["versions"]
    assert "on first" not in str(after)
    assert http.delete(f"{live.url}/api/notes/{token}").status_code == 204
    assert http.get(f"{live.url}/api/notes/{token}/comments").status_code == 404
    assert http.get(f"{live.url}/api/notes/{note['comment_id']}/comments").status_code == 404
    assert http.post(f"{live.url}/api/notes/{token}/undelete").status_code == 200
    assert [t["quote"] for t in threads(live, token)] == ["first"]


async def test_an_anchor_follows_edits_around_and_inside_it_and_collapses_when_its_text_goes(
    live: LiveServer,
) -> None:
    """pycrdt resolves these ASCII offsets as Yjs does (the npm client checks it too)."""
    note = live.post_note("alpha beta gamma")
    token = note["id"]
    async with YClient.connect(live.ws_url, token) as editor:
        thread = post(live, token, body="on beta", **{"from": 6, "to": 10})

        def where() -> tuple[int, int]:
            anchor = thread["anchor"]  # type: ignore[index]
            ends = [
                pycrdt.StickyIndex.decode(_b64(anchor[end]), editor.text).get_index()
                for end in ("start", "end")
            ]
            return ends[0], ends[1]

        editor.insert(0, ">> ")  # before it
        assert str(editor.text)[slice(*where())] == "beta"
        editor.insert(9 + 2, "X")  # inside it
        assert str(editor.text)[slice(*where())] == "beXta"
        editor.insert(len(">> alpha beXta"), "!")  # just after it
        assert str(editor.text)[slice(*where())] == "beXta"
        del editor.text[9:14]
        start, end = where()
        assert start == end == 9 and str(editor.text) == ">> alpha ! gamma"


def _b64(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


@pytest.mark.slow
@pytest.mark.sqlite_only  # the process holds SQLite's WAL; PostgreSQL commits in its own
def test_every_comment_answered_201_survives_sigkill(make_server: MakeServer) -> None:
    """Four writers post comments as fast as answered; the server is SIGKILLed mid-burst."""
    server = make_server().start()
    token = server.post_note("words to comment on")["id"]
    answered: list[tuple[int, str]] = []
    stop, enough = threading.Event(), threading.Event()

    def burst(writer: int) -> None:
        n = 0
        while not stop.is_set():
            body = f"w{writer}-{n}"
            try:
                response = http.post(
                    f"{server.url}/api/notes/{token}/comments",
                    json={"body": body, "from": 0, "to": 5},
                    timeout=5,
                )
            except Exception:  # the server died under it: not answered
                return
            if response.status_code == 201:
                answered.append((response.json()["id"], body))
                if len(answered) >= 40:
                    enough.set()
            n += 1

    writers = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for writer in writers:
        writer.start()
    assert enough.wait(60), "the burst should have been answered"
    server.kill()
    stop.set()
    for writer in writers:
        writer.join(10)
    server.start()

    kept = {
        thread["id"]: thread["comments"][0]["body"]
        for thread in http.get(f"{server.url}/api/notes/{token}/comments").json()["threads"]
    }
    missing = [(thread, body) for thread, body in answered if kept.get(thread) != body]
    assert not missing, f"{len(missing)} of {len(answered)} answered comments lost"
