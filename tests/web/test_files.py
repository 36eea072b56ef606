"""A note's files over real sockets: upload, the types sniffed, safe serving, access, limits."""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from support.http import http
from support.live import LiveServer
from support.server import MakeServer, ServerProcess
from support.sql import query
from support.waiting import until

from collab import document
from storage.backup import backup_sqlite
from storage.check import check_sqlite
from web.images import GPS_IFD

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (0, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def photo_with_gps() -> bytes:
    """A JPEG as a phone makes one: a camera name, and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "Test camera"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 10, 10)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def raw_png(width: int, height: int, rows: bytes, *, depth: int = 8, color: int = 2) -> bytes:
    """A PNG of these rows (each with its filter byte), made by hand: fast, any size."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    pixels = zlib.compress(rows, 9 if depth == 1 else 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def png_bomb(side: int = 20_000) -> bytes:
    """A PNG of ``side`` x ``side`` black pixels, one bit each: 50 MB of pixels in 50 KB."""
    return raw_png(side, side, b"\x00" * ((side // 8 + 1) * side), depth=1, color=0)


def upload(
    server: LiveServer | ServerProcess,
    token: str,
    data: bytes,
    name: str = "file",
    kind: str = "image/png",
) -> httpx.Response:
    files = {"file": (name, data, kind)}
    return http.post(f"{server.url}/api/notes/{token}/files", files=files, timeout=10)


def fetch(server: LiveServer, token: str, file: str, **headers: str) -> httpx.Response:
    return http.get(f"{server.url}/api/notes/{token}/files/{file}", headers=headers, timeout=10)


def uploaded(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_files_are_typed_by_their_bytes_and_served_safely_through_either_link(
    live: LiveServer,
) -> None:
    note = live.post_note("# Pictures\n")
    image = png()
    # The name and the client's type say PNG: the bytes say SVG, and SVG it is.
    svg = uploaded(upload(live, note["id"], SVG, "cat.png", "image/png"))
    picture = uploaded(upload(live, note["id"], image, "sea [1].png", "text/plain"))
    pdf = uploaded(upload(live, note["id"], PDF, "../../report.pdf", "application/octet-stream"))
    assert picture == {
        "id": hashlib.sha256(image).hexdigest(),
        "type": "image/png",
        "size": len(image),
        "name": "sea 1 .png",
        "markdown": f"![sea 1 .png](attachment:{picture['id']})",
    }
    assert (svg["type"], svg["markdown"]) == ("image/svg+xml", f"[cat.png](attachment:{svg['id']})")
    assert (pdf["type"], pdf["name"]) == ("application/pdf", "report.pdf")

    for token in (note["id"], note["view_id"]):
        shown = fetch(live, token, picture["id"])
        assert shown.status_code == 200 and shown.content == image
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["content-disposition"].startswith("inline")
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["content-security-policy"] == "sandbox; default-src 'none'"
        assert shown.headers["cache-control"] == "private, max-age=31536000, immutable"
        assert shown.headers["etag"] == f'"{picture["id"]}"'
    script = fetch(live, note["view_id"], svg["id"])
    assert script.headers["content-type"] == "image/svg+xml"
    assert script.headers["content-disposition"].startswith('attachment; filename="cat.png"')
    assert script.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert fetch(live, note["id"], pdf["id"]).headers["content-disposition"].startswith("attach")

    etag = f'"{picture["id"]}"'
    cached = fetch(live, note["view_id"], picture["id"], **{"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    part = fetch(live, note["id"], picture["id"], Range="bytes=8-15")
    assert part.status_code == 206 and part.content == image[8:16]
    assert part.headers["content-range"] == f"bytes 8-15/{len(image)}"
    assert fetch(live, note["id"], picture["id"], Range="bytes=-4").content == image[-4:]
    assert fetch(live, note["id"], picture["id"], Range=f"bytes={len(image)}-").status_code == 416

    # A media type is case-insensitive (RFC 9110, 8.3.1): this body is multipart/form-data too.
    part_head = b'Content-Disposition: form-data; name="file"; filename="a.txt"'
    body = b"--b\r\n" + part_head + b"\r\n\r\nhello\r\n--b--\r\n"
    cased = {"Content-Type": "Multipart/Form-Data; boundary=b"}
    url = f"{live.url}/api/notes/{note['id']}/files"
    assert uploaded(http.post(url, content=body, headers=cased, timeout=10))["size"] == 5


def test_a_photos_location_is_removed_and_the_same_bytes_are_stored_once(
    live: LiveServer,
) -> None:
    note, other = live.post_note(), live.post_note()
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)
    stored = uploaded(upload(live, note["id"], original, "holiday.jpg", "image/jpeg"))
    served = fetch(live, note["view_id"], stored["id"]).content
    exif = Image.open(io.BytesIO(served)).getexif()
    assert not exif.get_ifd(GPS_IFD) and exif[0x010F] == "Test camera"
    assert stored["id"] == hashlib.sha256(served).hexdigest() and stored["size"] == len(served)
    assert Image.open(io.BytesIO(served)).tobytes() == Image.open(io.BytesIO(original)).tobytes()

    again = uploaded(upload(live, note["id"], original, "again.jpg", "image/jpeg"))
    elsewhere = uploaded(upload(live, other["id"], original, "mine.jpg", "image/jpeg"))
    assert again == stored and elsewhere["id"] == stored["id"]
    url = live.settings.database_url
    assert query(url, "SELECT count(*) FROM file_blob") == [(1,)]
    assert query(url, "SELECT count(*) FROM note_file") == [(2,)]


def test_uploads_are_refused_with_a_reason(make_live: Callable[..., LiveServer]) -> None:
    limits = {"max_file_bytes": 300_000, "max_note_files_bytes": 400_000}
    live = make_live(**limits, max_image_pixels=1_000_000).start()
    note = live.post_note()

    def refused(status: int, data: bytes, token: str = note["id"]) -> str:
        response = upload(live, token, data)
        assert response.status_code == status, response.text
        detail: str = response.json()["detail"]
        return detail

    assert refused(403, png(), note["view_id"]) == "only the edit link can upload files"
    assert refused(404, png(), "no-such-link") == "no note has this link"
    assert "larger than 300000 bytes" in refused(413, b"a" * 300_001)
    assert "not accepted" in refused(415, bytes(range(256)) * 4)
    bomb = refused(422, png_bomb())
    assert bomb.startswith("the image is too large") and "decompression bomb" in bomb
    assert "(20001 x 1 pixels)" in refused(422, png((20_001, 1)))
    assert "(1001 x 1000 pixels)" in refused(422, png((1001, 1000)))
    damaged = bytearray(png((300, 200)))
    damaged[len(damaged) // 2] ^= 0xFF  # in the middle of the pixels
    assert "damaged" in refused(422, bytes(damaged))
    assert "damaged" in refused(422, png()[:60])
    uploaded(upload(live, note["id"], b"a" * 250_000, "a.txt"))
    assert "more than 400000 bytes" in refused(413, b"b" * 250_000)  # the note's total
    assert query(live.settings.database_url, "SELECT count(*) FROM file_blob") == [(1,)]


def test_an_upload_may_be_larger_than_other_bodies_and_past_the_rate_limit_gets_429(
    make_live: Callable[..., LiveServer],
) -> None:
    live = make_live(
        max_uploads_per_minute=2, max_request_body_bytes=100_000, max_file_bytes=300_000
    ).start()
    note = live.post_note()
    assert upload(live, note["id"], b"a" * 200_000).status_code == 201  # --max-file-bytes
    # Past both, refused before it is read, in the words the route would use.
    too_large = upload(live, note["id"], b"a" * 400_000)
    assert too_large.status_code == 413
    assert too_large.json()["detail"] == "the file is larger than 300000 bytes"
    too_large = http.post(f"{live.url}/api/notes", json={"content": "a" * 200_000})
    assert too_large.status_code == 413  # other bodies: --max-request-body-bytes
    assert upload(live, note["id"], png()).status_code == 201
    refused = upload(live, note["id"], png(color=(1, 1, 1)))
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["detail"] == "too many uploads from your address; try again later"


def test_only_the_notes_live_links_read_its_files(live: LiveServer) -> None:
    note, other = live.post_note(), live.post_note()
    file = uploaded(upload(live, note["id"], png()))["id"]
    theirs = uploaded(upload(live, other["id"], png(color=(1, 2, 3))))["id"]
    assert fetch(live, other["id"], file).status_code == 404
    assert fetch(live, other["view_id"], file).status_code == 404
    assert fetch(live, note["id"], theirs).status_code == 404
    # the comment link reads the note as a view link does: its images too (they were 404)
    cached = {"If-None-Match": f'"{file}"'}
    assert fetch(live, note["comment_id"], file).status_code == 200
    assert fetch(live, note["comment_id"], file, **cached).status_code == 304
    assert fetch(live, other["comment_id"], file, **cached).status_code == 404

    replaced = http.post(f"{live.url}/api/notes/{note['id']}/rotate", json={"which": "view"})
    assert replaced.status_code == 200
    assert fetch(live, note["view_id"], file).status_code == 404
    assert fetch(live, replaced.json()["view_id"], file).status_code == 200

    assert http.delete(f"{live.url}/api/notes/{note['id']}").status_code == 204
    assert fetch(live, note["id"], file).status_code == 404
    assert fetch(live, note["id"], file, **cached).status_code == 404
    assert http.post(f"{live.url}/api/notes/{note['id']}/undelete").status_code == 200
    assert fetch(live, note["id"], file).status_code == 200


async def test_purging_a_note_deletes_the_files_no_other_note_has(
    make_live: Callable[..., LiveServer],
) -> None:
    live = make_live(deleted_note_retention_days=0.000_002).start()  # purged within 0.2 s
    doomed, kept = live.post_note(), live.post_note()
    shared = png()
    uploaded(upload(live, doomed["id"], shared))
    uploaded(upload(live, kept["id"], shared))
    uploaded(upload(live, doomed["id"], PDF))
    assert http.delete(f"{live.url}/api/notes/{doomed['id']}").status_code == 204
    url = live.settings.database_url
    blobs = "SELECT id FROM file_blob"
    left = [(hashlib.sha256(shared).hexdigest(),)]
    await until(lambda: query(url, blobs) == left, what="the purge", every_s=0.05)
    assert query(url, "SELECT count(*) FROM note_file") == [(1,)]


def noise_png(seed: int, side: int = 1300) -> bytes:
    """A PNG of random pixels, stored uncompressed: about 5 MB at 1300 x 1300."""
    noise = random.Random(seed)
    rows = b"".join(b"\x00" + noise.randbytes(side * 3) for _ in range(side))
    return raw_png(side, side, rows)


@pytest.mark.sqlite_only  # collab-notes check and backup read SQLite files
def test_an_upload_killed_midway_leaves_the_whole_file_or_nothing(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server().start()
    note = server.post_note()
    sent = {}
    for delay in (0.0, 0.1, 0.3):
        data = noise_png(int(delay * 100))
        sent[hashlib.sha256(data).hexdigest()] = data

        def send(data: bytes = data) -> None:
            with contextlib.suppress(httpx.TransportError):
                upload(server, note["id"], data)

        request = threading.Thread(target=send)
        request.start()
        time.sleep(delay)  # SIGKILL somewhere in the upload: its body, its checks, its commit
        server.kill()
        request.join()
        server.start()
    answered = noise_png(99)
    answered_id = uploaded(upload(server, note["id"], answered))["id"]
    sent[answered_id] = answered
    server.kill()  # at once after the 201: the file was committed before it
    server.start()
    url = server.database_url
    stored = {file for (file,) in query(url, "SELECT file_id FROM note_file")}
    assert {file for (file,) in query(url, "SELECT id FROM file_blob")} == stored
    assert answered_id in stored
    for file in stored:  # complete, or not there
        assert (
            http.get(f"{server.url}/api/notes/{note['view_id']}/files/{file}").content
            == (sent[file])
        )
    print(f"\nuploads killed after 0-300 ms: {len(stored)} of {len(sent)} stored")
    report = check_sqlite(server.db_path, vet=document.first_problem, build=document.build)
    assert report.ok, report.problems
    copy = tmp_path / "copy.db"
    backup_sqlite(server.db_path, copy)  # the copy holds the files too
    assert len(query(f"sqlite:///{copy}", "SELECT id FROM file_blob")) == len(stored)
