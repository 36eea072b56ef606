"""What an uploaded file is, decided from its bytes, and the name it is kept under.

The name a client gives and its ``Content-Type`` are never believed: the type
is the one the file's first bytes (its magic number) say, and a file none of
them matches is refused. Raster images are shown inline; everything else,
SVG included (it can hold scripts), is only ever served as a download.
"""

from __future__ import annotations

import unicodedata

RASTER = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif")
"""Types served inline and inserted as Markdown images."""

_MAGIC = (
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"%PDF-", "application/pdf"),
    (0, b"PK\x03\x04", "application/zip"),  # also .docx, .xlsx, .odt...
    (4, b"ftypavif", "image/avif"),
    (4, b"ftypavis", "image/avif"),
)

_SVG_HEAD_BYTES = 4096
"""An SVG's ``<svg`` must come within this many bytes (after an XML declaration, comments)."""


def sniff(data: bytes) -> str | None:
    """The media type of ``data`` by its first bytes; None for a type not accepted."""
    for offset, magic, media_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    text = _text(data)
    if text is None:
        return None
    head = text[:_SVG_HEAD_BYTES].lstrip().lower()
    if head.startswith("<") and "<svg" in head:
        return "image/svg+xml"
    return "text/plain"


def _text(data: bytes) -> str | None:
    """``data`` as UTF-8 text with no NUL, or None (a binary file of some other kind)."""
    if b"\x00" in data[:65536]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "image/svg+xml": ".svg",
    "text/plain": ".txt",
}

MAX_NAME_CHARS = 120


def clean_name(given: str, media_type: str) -> str:
    """A file name safe in Markdown, a header and a file system: no folder, no control
    character, none of ``[]()<>`` and the characters file systems refuse; never empty."""
    base = given.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(" " if _unsafe(char) else char for char in base)
    name = " ".join(kept.split()).strip(". ")
    if len(name) > MAX_NAME_CHARS:
        _stem, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) <= 10 else ""
        name = name[: MAX_NAME_CHARS - len(keep) - 1].rstrip() + (f".{keep}" if keep else "")
    return name or "file" + _EXTENSIONS.get(media_type, "")


def _unsafe(char: str) -> bool:
    # Cc/Cf: controls and invisible formatting (bidi overrides); Cs: lone surrogates.
    category = unicodedata.category(char)
    return char in '\\/:*?"<>|[]()`' or category in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def markdown(name: str, file: str, media_type: str) -> str:
    """The Markdown that shows the file in a note: an image for a raster image, else a link."""
    bang = "!" if media_type in RASTER else ""
    return f"{bang}[{name}](attachment:{file})"
