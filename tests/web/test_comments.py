"""Comments over REST: the contract, who may do what, and what comments outlive."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from support.http import http
from support.live import LiveServer
from support.server import MakeServer
from support.yclient import YClient

KEY = "k" * 24  # a browser-held key


def post(server: LiveServer, token: str, path: str = "", **body: object) -> dict[str, Any]:
    response = http.post(f"{server.url}/api/notes/{token}/comments{path}", json=body)
    return {"status": response.status_code, **response.json()}


def threads(server: LiveServer, token: str) -> list[dict[str, Any]]:
    response = http.get(f"{server.url}/api/notes/{token}/comments")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["threads"]
    return found


def test_comment_reply_resolve_and_reopen_by_the_edit_and_comment_links_not_the_view_link(
    live: LiveServer,
) -> None:
    note = live.post_note("Budget: 40k for travel.")
    edit, comment, view = note["id"], note["comment_id"], note["view_id"]
    started = post(live, edit, body="Too much?", author="Ana", key=KEY, **{"from": 8, "to": 11})
    assert started["status"] == 201 and started["quote"] == "40k"
    assert started["resolved"] is False
    [first] = started["comments"]
    assert (first["author"], first["body"]) == ("Ana", "Too much?")
    thread = started["id"]
    replied = post(live, comment, f"/{thread}/replies", body="Agreed", author="Rev")
    assert replied["status"] == 201
    assert [c["body"] for c in replied["comments"]] == ["Too much?", "Agreed"]
    assert post(live, comment, f"/{thread}/resolve")["resolved"] is True
    assert threads(live, view)[0]["resolved"] is True
    assert post(live, edit, f"/{thread}/reopen")["resolved"] is False
    on_travel = post(live, comment, body="Which trips?", **{"from": 16, "to": 22})
    assert (on_travel["status"], on_travel["quote"]) == (201, "travel")
    listed = threads(live, view)
    assert [t["id"] for t in listed] == [thread, on_travel["id"]]
    assert set(listed[0]) == {"id", "quote", "resolved", "anchor", "created_at", "comments"}
    assert set(listed[0]["comments"][0]) == {
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
    # Past what an SQL INTEGER holds (PostgreSQL refused it with an error: 500).
    too_big = 2**31
    assert post(live, edit, f"/{too_big}/replies", body="x")["status"] == 404
    assert http.delete(f"{live.url}/api/notes/{edit}/comments/{too_big}").status_code == 404
    edited = http.patch(
        f"{live.url}/api/notes/{edit}/comments/{thread}/comments/{too_big}",
        json={"body": "x", "key": KEY},
    )
    assert edited.status_code == 404, edited.text
    assert http.get(f"{live.url}/api/notes/nosuchlink/comments").status_code == 404


def test_422_with_the_reason_and_an_author_edits_and_deletes_own_comments_by_key(
    live: LiveServer,
) -> None:
    """An empty or overlong comment, or a bad anchor, is 422 with the reason; an author
    edits and deletes their own comments with their key; the edit link deletes threads."""
    note = live.post_note("a😀b")  # 4 UTF-16 units
    token = note["id"]
    cases = {
        "the comment is empty": {"body": "  \n", "from": 0, "to": 1},
        "at most 5000 characters": {"body": "x" * 5001, "from": 0, "to": 1},
        "0 <= from < to <= 4": {"body": "x", "from": 0, "to": 5},
        "split a character": {"body": "x", "from": 0, "to": 2},
        "body: Field required": {"from": 0, "to": 1},  # the field named, though it is "body"
        "body: Input should be a valid string": {"body": 5, "from": 0, "to": 1},
    }
    for reason, body in cases.items():
        answer = post(live, token, **body)
        assert answer["status"] == 422 and reason in str(answer), (reason, answer)
    assert post(live, token, body="x", **{"from": 2, "to": 2})["status"] == 422
    assert post(live, token, body="ok", **{"from": 1, "to": 3})["quote"] == "😀"
    assert post(live, token, f"/{1}/replies", body="")["status"] == 422
    note = live.post_note("Some text here")
    edit, comment = note["id"], note["comment_id"]
    started = post(live, comment, body="typo", key=KEY, **{"from": 0, "to": 4})
    thread, mine = started["id"], started["comments"][0]["id"]
    url = f"{live.url}/api/notes/{comment}/comments/{thread}/comments/{mine}"
    assert http.patch(url, json={"body": "fixed", "key": "x" * 24}).status_code == 403
    changed = http.patch(url, json={"body": "fixed", "key": KEY})
    assert changed.status_code == 200 and changed.json()["comments"][0]["body"] == "fixed"
    assert changed.json()["comments"][0]["edited_at"] is not None
    post(live, edit, f"/{thread}/replies", body="a reply")
    assert http.delete(url, headers={"X-Comment-Key": "x" * 24}).status_code == 403
    assert http.delete(url, headers={"X-Comment-Key": KEY}).status_code == 204
    assert [c["body"] for c in threads(live, edit)[0]["comments"]] == ["a reply"]
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


async def test_everyone_present_hears_a_comment_a_reply_and_a_resolve_within_a_second(
    live: LiveServer,
) -> None:
    note = live.post_note("Hear this")
    async with (
        YClient.connect(live.ws_url, note["view_id"]) as viewer,
        YClient.connect(live.ws_url, note["comment_id"]) as commenter,
    ):
        for client in (viewer, commenter):
            await client.subscribe_notices()
        await viewer.wait_saved()  # its subscription is in before the first comment
        await commenter.wait_saved()
        slowest = 0.0
        steps = [
            ("", {"body": "hm", "from": 0, "to": 4}, "hm"),
            ("/{id}/replies", {"body": "yes"}, "yes"),
            ("/{id}/resolve", None, "resolved"),
        ]
        thread = 0
        for count, (path, body, said) in enumerate(steps, start=1):
            began = time.monotonic()
            answer = http.post(
                f"{live.url}/api/notes/{note['id']}/comments{path.format(id=thread)}", json=body
            )
            thread = answer.json()["id"]
            for client in (viewer, commenter):
                await client.wait_until(lambda c, n=count: len(c.notices()) == n, timeout_s=1.0)
                slowest = max(slowest, time.monotonic() - began)
            heard = commenter.notices()[-1]
            assert heard["kind"] == "comment" and heard["thread"] == answer.json()
            assert said in str(heard)
        assert commenter.notices()[-1]["thread"]["resolved"] is True
        http.delete(f"{live.url}/api/notes/{note['id']}/comments/{thread}")
        await viewer.wait_until(lambda c: c.notices()[-1]["kind"] == "comment-deleted", 1.0)
        print(f"  the slowest notice (request to both peers): {slowest * 1000:.0f} ms")
