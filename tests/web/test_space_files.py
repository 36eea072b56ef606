"""A space's notes in and out of a .zip: each Markdown file a note, file by file results,
limits on size, count, zip bombs and path tricks; an export of every note."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile

import httpx
import pytest
from PIL import Image
from support.http import http
from support.live import LiveServer
from support.zips import zipped

from web import archive


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def make_space(server: LiveServer) -> dict[str, str]:
    data: dict[str, str] = http.post(f"{server.url}/api/spaces", json={"name": "Vault"}).json()
    return data


def send(server: LiveServer, space: str, body: bytes) -> httpx.Response:
    return http.post(
        f"{server.url}/api/spaces/{space}/import",
        content=body,
        headers={"Content-Type": "application/zip"},
        timeout=60,
    )


def lying(name: str, real_bytes: int, declared: int) -> bytes:
    """A .zip whose one entry says it inflates to ``declared`` bytes but holds more."""
    data = bytearray(zipped({name: b"a" * real_bytes}))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset : at + offset + 4] = struct.pack("<I", declared)
    return bytes(data)


def test_each_markdown_file_becomes_a_note_and_the_rest_is_reported(live: LiveServer) -> None:
    space = make_space(live)
    body = zipped(
        {
            "Plan.md": "# Plan\nship #q3\n",
            "notes/Ideas.markdown": "---\ntitle: Ideas\ntags: [later]\n---\nmany\n",
            "picture.png": b"\x89PNG",
            ".obsidian/workspace.md": "{}",
            "__MACOSX/._Plan.md": "x",
            "../escape.md": "# Out",
            "/etc/abs.md": "# Abs",
            "C:/drive.md": "# Drive",
            "latin1.md": "caf\xe9".encode("latin-1"),
        }
    )
    response = send(live, space["id"], body)
    assert response.status_code == 201, response.text
    result = response.json()
    assert sorted((i["file"], i["title"]) for i in result["imported"]) == [
        ("Plan.md", "Plan"),
        ("notes/Ideas.markdown", "Ideas"),
    ]
    reasons = {r["file"]: r["reason"] for r in result["refused"]}
    assert reasons["picture.png"] == "skipped: not a Markdown file"
    assert reasons[".obsidian/workspace.md"] == "skipped: a hidden file"
    for trick in ("../escape.md", "/etc/abs.md", "C:/drive.md"):
        assert reasons[trick] == "refused: a path trick in its name", trick
    assert reasons["latin1.md"] == "refused: not UTF-8 text"
    listed = http.get(f"{live.url}/api/spaces/{space['id']}", params={"sort": "title"}).json()
    assert [(n["title"], n["tags"]) for n in listed["notes"]] == [
        ("Ideas", ["later"]),
        ("Plan", ["q3"]),
    ]
    plan = next(i for i in result["imported"] if i["file"] == "Plan.md")
    assert live.get_note(plan["id"]).json()["content"] == "# Plan\nship #q3\n"


@pytest.mark.slow
def test_oversized_files_zip_bombs_and_too_many_files_are_refused(live: LiveServer) -> None:
    space = make_space(live)["id"]
    big = archive.MAX_FILE_BYTES + 1
    honest = send(live, space, zipped({"big.md": b"a" * big, "ok.md": "# Ok"})).json()
    assert honest["refused"] == [
        {"file": "big.md", "reason": f"refused: larger than {archive.MAX_FILE_BYTES} bytes"}
    ]
    bomb = send(live, space, lying("bomb.md", big, declared=10)).json()
    assert bomb["imported"] == [] and bomb["refused"][0]["file"] == "bomb.md"
    assert bomb["refused"][0]["reason"].startswith("refused:")
    many = {f"n{i}.md": "# n" for i in range(archive.MAX_FILES + 1)}
    too_many = send(live, space, zipped(many))
    assert too_many.status_code == 422 and "1001 Markdown files" in too_many.json()["detail"]
    huge = {f"h{i}.md": b"a" * (archive.MAX_FILE_BYTES - 1) for i in range(9)}
    too_big = send(live, space, zipped(huge))
    assert too_big.status_code == 422 and "inflates" in too_big.json()["detail"]
    not_zip = send(live, space, b"# just markdown")
    assert not_zip.status_code == 422 and ".zip" in not_zip.json()["detail"]
    listed = http.get(f"{live.url}/api/spaces/{space}").json()["notes"]
    assert [n["title"] for n in listed] == ["Ok"]  # nothing of the refused archives


def test_an_import_needs_the_edit_link(live: LiveServer) -> None:
    space = make_space(live)
    assert send(live, space["view_id"], zipped({"a.md": "a"})).status_code == 403
    assert send(live, "nosuchspace", zipped({"a.md": "a"})).status_code == 404


def test_a_space_exports_every_note_as_markdown_files(live: LiveServer) -> None:
    space = make_space(live)
    for content in ("# Same\none", "# Same\ntwo", "# a/b: c?\n"):
        http.post(f"{live.url}/api/spaces/{space['id']}/notes", json={"content": content})
    response = http.get(f"{live.url}/api/spaces/{space['view_id']}/export.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="Vault.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as exported:
        files = {name: exported.read(name).decode() for name in exported.namelist()}
    assert files == {
        "Same.md": "# Same\none",
        "Same (2).md": "# Same\ntwo",
        "a b c.md": "# a/b: c?\n",
    }
    assert http.get(f"{live.url}/api/spaces/nosuchspace/export.zip").status_code == 404


def test_a_space_exported_with_its_notes_files_imports_back_with_them(live: LiveServer) -> None:
    space, image = make_space(live), png()
    file = hashlib.sha256(image).hexdigest()
    for content in (
        f"# Trip\n![shot.png](attachment:{file})\n",
        f"# Again\n![](attachment:{file})",
    ):
        note = http.post(f"{live.url}/api/spaces/{space['id']}/notes", json={"content": content})
        sent = {"file": ("shot.png", image, "image/png")}
        uploaded = http.post(f"{live.url}/api/notes/{note.json()['id']}/files", files=sent)
        assert uploaded.status_code == 201
    http.post(f"{live.url}/api/spaces/{space['id']}/notes", json={"content": "# Plain\n"})
    exported = http.get(f"{live.url}/api/spaces/{space['view_id']}/export.zip")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    shot = f"files/{file}-shot.png"  # once, though both notes have it
    assert sorted(entries) == ["Again.md", "Plain.md", "Trip.md", shot]
    assert entries["Trip.md"].decode() == f"# Trip\n![shot.png]({shot})\n"
    assert entries[shot] == image
    other = make_space(live)
    answer = send(live, other["id"], exported.content)
    assert answer.status_code == 201 and answer.json()["refused"] == [], answer.text
    for imported in answer.json()["imported"]:
        content = live.get_note(imported["id"]).json()["content"]
        if imported["title"] != "Plain":
            assert f"(attachment:{file})" in content
            served = http.get(f"{live.url}/api/notes/{imported['id']}/files/{file}")
            assert served.status_code == 200 and served.content == image


def test_a_note_from_a_template_or_a_duplicate_has_the_files_its_text_names(
    live: LiveServer,
) -> None:
    space, image = make_space(live), png()
    file = hashlib.sha256(image).hexdigest()
    template = http.post(
        f"{live.url}/api/spaces/{space['id']}/notes",
        json={"content": f"# Visit\n![plan](attachment:{file})\n"},
    ).json()
    for name, data in (("plan.png", image), ("left-out.txt", b"only the template's")):
        sent = {"file": (name, data, "application/octet-stream")}
        assert http.post(f"{live.url}/api/notes/{template['id']}/files", files=sent).is_success
    kept = hashlib.sha256(b"only the template's").hexdigest()
    started = http.post(
        f"{live.url}/api/spaces/{space['id']}/notes", json={"template": template["view_id"]}
    ).json()
    copy = http.post(f"{live.url}/api/notes/{template['id']}/duplicate").json()
    for made in (started, copy):  # through their own links: the template's are not theirs
        for token in (made["id"], made["view_id"]):
            served = http.get(f"{live.url}/api/notes/{token}/files/{file}")
            assert served.status_code == 200 and served.content == image, made["title"]
        assert http.get(f"{live.url}/api/notes/{made['id']}/files/{kept}").status_code == 404
