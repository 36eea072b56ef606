"""What every answer of the REST API carries, and what the server does not serve."""

from __future__ import annotations

import pytest
from support.http import http
from support.live import LiveServer


@pytest.mark.parametrize("path", ["/api/docs", "/docs", "/docs/oauth2-redirect", "/redoc"])
def test_no_docs_page_is_served(live: LiveServer, path: str) -> None:
    response = http.get(live.url + path)
    assert response.status_code == 404
    assert "swagger" not in response.text.lower()


def test_the_openapi_schema_is_served_with_the_bodies_it_takes(live: LiveServer) -> None:
    schema = http.get(live.url + "/api/openapi.json").json()
    create = schema["paths"]["/api/notes"]["post"]["requestBody"]
    assert "content" in create["content"]["application/json"]["schema"]["properties"]
    rotate = schema["paths"]["/api/notes/{token}/rotate"]["post"]["requestBody"]
    assert rotate["required"] is True


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
def test_answers_with_an_edit_token_or_a_note_are_neither_stored_nor_sniffed(
    live: LiveServer,
) -> None:
    note = live.post_note("# Plans\nsecret")
    base = f"{live.url}/api/notes/{note['id']}"
    version = http.post(base + "/versions", json={"name": "first"})
    answers = {
        "create": http.post(live.url + "/api/notes", json={"content": "x"}),
        "read": http.get(base),
        "read by the view link": http.get(f"{live.url}/api/notes/{note['view_id']}"),
        "export": http.get(base + "/export.md"),
        "name a version": version,
        "versions": http.get(base + "/versions"),
        "a version": http.get(f"{base}/versions/{version.json()['id']}"),
        "restore": http.post(f"{base}/versions/{version.json()['id']}/restore"),
        "undelete": http.post(base + "/undelete"),
        "rotate": http.post(base + "/rotate", json={"which": "view"}),
        "an unknown link": http.get(f"{live.url}/api/notes/no-such-note-token-at-all"),
    }
    for what, response in answers.items():
        assert response.status_code < 500, (what, response.text)
        assert response.headers.get("cache-control") == "no-store", what
        assert response.headers.get("x-content-type-options") == "nosniff", what
