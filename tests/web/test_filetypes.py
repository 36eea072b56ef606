"""A file's type comes from its bytes, and its name is made safe for Markdown and headers."""

from __future__ import annotations

import pytest

from web.filetypes import clean_name, markdown, sniff


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x1cftypavif", "image/avif"),
        (b"%PDF-1.7", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b'\xef\xbb\xbf  <?xml version="1.0"?><!-- x --><svg>', "image/svg+xml"),
        (b"# Notes\nplain words", "text/plain"),
        (b"MZ\x90\x00\x03\x00", None),  # a Windows program
        (b"\xff\xfe\x00\x00", None),
    ],
)
def test_the_type_is_what_the_first_bytes_say(head: bytes, media_type: str | None) -> None:
    assert sniff(head) == media_type


def test_names_lose_folders_controls_and_markdown_brackets() -> None:
    assert clean_name("../../etc/pass[w](d).png", "image/png") == "pass w d .png"
    assert clean_name("C:\\Users\\me\\a\u202egnp.exe", "image/png") == "a gnp.exe"
    assert clean_name(" \x00 ", "application/pdf") == "file.pdf"
    assert len(clean_name("x" * 300 + ".jpeg", "image/jpeg")) == 120
    assert clean_name("x" * 300 + ".jpeg", "image/jpeg").endswith("x.jpeg")


def test_raster_images_are_inserted_as_images_and_everything_else_as_links() -> None:
    assert markdown("a.png", "f" * 64, "image/png") == f"![a.png](attachment:{'f' * 64})"
    assert markdown("a.svg", "0" * 64, "image/svg+xml") == f"[a.svg](attachment:{'0' * 64})"
