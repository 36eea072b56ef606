"""The HTML the pages send: a strict CSP and nothing inline for it to forbid.

No browser needed here: plain HTTP against a running server.
"""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from support.http import http
from support.server import ServerProcess


class InlineScriptFinder(HTMLParser):
    """Collects inline scripts, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if not values.get("src"):
                self.found.append("<script> without src")
            self.scripts.append(values.get("src") or "")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:>")


def page_urls(server: ServerProcess) -> dict[str, str]:
    note = server.post_note("# A note\n")
    return {"home": "/", "edit": note["url"], "view": note["view_url"], "missing": "/n/nope"}


@pytest.fixture(scope="module")
def pages(shared_server: ServerProcess) -> dict[str, httpx.Response]:
    return {
        name: http.get(shared_server.url + path) for name, path in page_urls(shared_server).items()
    }


@pytest.mark.parametrize("name", ["home", "edit", "view", "missing"])
def test_every_page_forbids_inline_script_and_contains_none(
    pages: dict[str, httpx.Response], name: str
) -> None:
    response = pages[name]
    assert response.status_code == (404 if name == "missing" else 200)
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'none'"
    assert "ws://127.0.0.1:" in policy["connect-src"]
    assert response.headers["referrer-policy"] == "no-referrer"
    finder = InlineScriptFinder()
    finder.feed(response.text)
    assert finder.found == []
    assert [src.split("?")[0] for src in finder.scripts] == ["/static/app.js"]


def test_each_page_gets_its_own_style_nonce(shared_server: ServerProcess) -> None:
    nonces = set()
    for _ in range(2):
        policy = http.get(shared_server.url + "/").headers["content-security-policy"]
        nonces.add(policy.split("'nonce-")[1].split("'")[0])
    assert len(nonces) == 2


def test_the_bundle_is_served_with_a_content_hash_in_its_url(
    pages: dict[str, httpx.Response], shared_server: ServerProcess
) -> None:
    finder = InlineScriptFinder()
    finder.feed(pages["home"].text)
    [script] = finder.scripts
    assert "?v=" in script
    response = http.get(shared_server.url + script)
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


def test_a_view_page_addresses_the_notes_files_through_the_view_token_alone(
    shared_server: ServerProcess,
) -> None:
    file_id = "5e" * 32
    note = shared_server.post_note(
        f"![plan](attachment:{file_id})\n\n[a.pdf](attachment:{file_id})\n"
    )
    view = http.get(shared_server.url + note["view_url"]).text
    edit = http.get(shared_server.url + note["url"]).text
    assert view.count(f"/api/notes/{note['view_id']}/files/{file_id}") == 2
    assert note["id"] not in view
    assert edit.count(f"/api/notes/{note['id']}/files/{file_id}") == 2
