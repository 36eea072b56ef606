"""A note and its files as one .zip: the export's links point at the files beside the
note, and importing it (or a zipped folder of one note and its images) brings the files
back as the new note's own, its links ``attachment:<id>`` again."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import httpx
from PIL import Image
from support.http import http
from support.live import LiveServer
from support.zips import zipped

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buffer, "PNG")
    return buffer.getvalue()


def import_zip(server: LiveServer, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/zip"}
    return http.post(f"{server.url}/api/notes/import", content=body, headers=headers, timeout=30)


def note_of(server: LiveServer, token: str) -> dict[str, Any]:
    data: dict[str, Any] = http.get(f"{server.url}/api/notes/{token}").json()
    return data


def test_a_note_exported_as_a_zip_imports_back_with_its_files(live: LiveServer) -> None:
    shot, report = png((0, 120, 200)), PDF
    shot_id, report_id = hashlib.sha256(shot).hexdigest(), hashlib.sha256(report).hexdigest()
    text = f"# Trip\n\n![shot.png](attachment:{shot_id})\n\n[report.pdf](attachment:{report_id})\n"
    note = http.post(f"{live.url}/api/notes", json={"content": text}).json()
    for name, data, kind in (("shot.png", shot, "image/png"), ("report.pdf", report, "x/y")):
        answer = http.post(
            f"{live.url}/api/notes/{note['id']}/files", files={"file": (name, data, kind)}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["id"] == hashlib.sha256(data).hexdigest()  # as the text says

    exported = http.get(f"{live.url}/api/notes/{note['view_id']}/export.zip")  # either link
    assert exported.status_code == 200
    assert 'filename="Trip.zip"' in exported.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert sorted(archive.namelist()) == sorted(
            ["Trip.md", f"files/{shot_id}-shot.png", f"files/{report_id}-report.pdf"]
        )
        markdown = archive.read("Trip.md").decode()
        assert archive.read(f"files/{shot_id}-shot.png") == shot
    assert markdown == (
        f"# Trip\n\n![shot.png](files/{shot_id}-shot.png)\n\n"
        f"[report.pdf](files/{report_id}-report.pdf)\n"
    )
    assert note["id"] not in exported.content.decode("latin-1")  # no token in the archive

    answer = import_zip(live, exported.content)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["title"] == "Trip" and made["refused"] == []
    assert made["files"] == sorted([shot_id, report_id])
    assert note_of(live, made["id"])["content"] == text  # the links are the note's own again
    served = http.get(f"{live.url}/api/notes/{made['view_id']}/files/{shot_id}")
    assert served.status_code == 200 and served.content == shot
    name = http.get(f"{live.url}/api/notes/{made['id']}/files/{report_id}")
    assert "report.pdf" in name.headers["content-disposition"]


def test_a_zipped_folder_brings_in_what_its_note_links_to_and_nothing_else(
    live: LiveServer,
) -> None:
    photo = png((200, 10, 10))
    body = zipped(
        {
            "trip/notes.md": (
                "# Folder\n\n![a photo](images/my%20photo.png) ![](<images/my photo.png>)\n"
                "[plan](./plan.pdf) ![up](../shared.png) ![out](../../evil.png)\n"
                "[web](https://example.com/x.png) "
                "[tool](tool.exe) [missing](gone.png)\n"
            ),
            "trip/images/my photo.png": photo,
            "trip/plan.pdf": PDF,
            "trip/tool.exe": b"MZ\x90\x00 not a file the server takes",
            "trip/unlinked.png": png((1, 2, 3)),
            "shared.png": photo,  # inside the archive, if not in the note's folder
            "../evil.png": photo,  # a path trick: never read
        }
    )
    answer = import_zip(live, body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    photo_id, plan_id = hashlib.sha256(photo).hexdigest(), hashlib.sha256(PDF).hexdigest()
    assert made["files"] == sorted([photo_id, plan_id])  # not the unlinked one
    assert made["refused"] == [
        {"file": "trip/tool.exe", "reason": "refused: this kind of file is not accepted"}
    ]
    content = note_of(live, made["id"])["content"]
    assert f"![a photo](attachment:{photo_id}) ![](attachment:{photo_id})" in content
    assert (
        f"[plan](attachment:{plan_id}) ![up](attachment:{photo_id}) ![out](../../evil.png)"
        in content
    )
    assert "[web](https://example.com/x.png) [tool](tool.exe) [missing](gone.png)" in content

    two = import_zip(live, zipped({"a.md": "# A", "b.md": "# B"}))
    assert two.status_code == 422
    assert "2 Markdown files" in two.json()["detail"]
    assert import_zip(live, b"not a zip").status_code == 422
