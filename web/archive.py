"""Markdown files in and out of a ``.zip``: what an import takes and an export gives.

Reading an archive trusts none of it. Its entries' declared sizes are checked
before anything is inflated, and each file is then inflated through a bounded
read, so an entry that lies about its size (a zip bomb) stops at the limit all
the same. Names are only reported, never used as paths; a name with ``..``, an
absolute path, a drive, a backslash or a control character is refused as a
path trick. Files that are not Markdown, folders and hidden files (``.obsidian/``,
``__MACOSX/``) are skipped and reported.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

MAX_FILES = 1000
"""Markdown files one import takes at most."""
MAX_FILE_CHARS = 2_000_000
"""A file's characters at most (a note's, as ``POST /api/notes`` takes)."""
MAX_FILE_BYTES = 4 * MAX_FILE_CHARS
"""A file's inflated bytes at most (UTF-8: up to 4 bytes a character)."""
MAX_TOTAL_BYTES = 64 * 1024 * 1024
"""The inflated bytes of a whole archive at most."""
MARKDOWN = (".md", ".markdown", ".mdown", ".txt")


class ArchiveRefused(ValueError):
    """The archive as a whole cannot be imported; the message says why."""


@dataclass
class Unpacked:
    """What an archive holds: Markdown files (name, text) and what was left out, why."""

    files: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def read_markdown(data: bytes) -> Unpacked:
    """The Markdown files of a ``.zip``; raises :class:`ArchiveRefused` for a bad archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise ArchiveRefused(f"this is not a .zip archive ({error})") from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        wanted = [info for info in entries if _kind(info.filename) == "markdown"]
        if len(wanted) > MAX_FILES:
            raise ArchiveRefused(
                f"the archive holds {len(wanted)} Markdown files; one import takes {MAX_FILES}"
            )
        if sum(info.file_size for info in wanted) > MAX_TOTAL_BYTES:
            raise ArchiveRefused(f"the archive inflates to over {MAX_TOTAL_BYTES} bytes")
        unpacked = Unpacked()
        inflated = 0
        for info in entries:
            kind = _kind(info.filename)
            if kind != "markdown":
                unpacked.refused.append((_shown(info.filename), kind))
                continue
            text, problem, size = _read(archive, info)
            inflated += size
            if inflated > MAX_TOTAL_BYTES:
                raise ArchiveRefused(f"the archive inflates to over {MAX_TOTAL_BYTES} bytes")
            if problem is None:
                unpacked.files.append((info.filename, text))
            else:
                unpacked.refused.append((info.filename, problem))
    return unpacked


def path_trick(name: str) -> bool:
    """Whether an entry's name tries to leave the archive's folder: ``..``, an absolute
    path, a drive, a backslash or a control character."""
    if any(unicodedata.category(c) in {"Cc", "Cs"} for c in name) or "\\" in name:
        return True
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts or bool(path.parts and ":" in path.parts[0])


def _kind(name: str) -> str:
    """ "markdown", or why the entry is left out."""
    if path_trick(name):
        return "refused: a path trick in its name"
    path = PurePosixPath(name)
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return "skipped: a hidden file"
    if not name.lower().endswith(MARKDOWN):
        return "skipped: not a Markdown file"
    return "markdown"


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[str, str | None, int]:
    """The file's text, or why not, and how many bytes it inflated to."""
    raw, problem = read_bytes(archive, info, MAX_FILE_BYTES)
    if problem is not None:
        return "", problem, len(raw)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "", "refused: not UTF-8 text", len(raw)
    if len(text) > MAX_FILE_CHARS:
        return "", f"refused: over {MAX_FILE_CHARS} characters", len(raw)
    return text.replace("\r\n", "\n"), None, len(raw)


def read_bytes(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int
) -> tuple[bytes, str | None]:
    """An entry's bytes, inflated no further than ``limit``, or why not."""
    if info.file_size > limit:
        return b"", f"refused: larger than {limit} bytes"
    try:
        with archive.open(info) as handle:
            raw = handle.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as error:
        return b"", f"refused: cannot be read ({error})"
    if len(raw) > limit:  # its header said less: a bomb
        return raw, f"refused: inflates past {limit} bytes"
    return raw, None


def _shown(name: str) -> str:
    """A name as a report may repeat it: control characters replaced."""
    return "".join("?" if unicodedata.category(c) in {"Cc", "Cs"} else c for c in name)[:300]


def unique_name(title: str, used: set[str]) -> str:
    """``<title>.md`` as a name no entry of ``used`` has (``<title> (2).md``...); added to it."""
    stem = file_stem(title)
    name, n = f"{stem}.md", 1
    while name.lower() in used:
        n += 1
        name = f"{stem} ({n}).md"
    used.add(name.lower())
    return name


def file_stem(title: str) -> str:
    """A file name (without extension) for ``title``: no path or control characters."""
    stem = "".join(
        " " if c in '\\/:*?"<>|' or unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"} else c
        for c in title
    )
    stem = " ".join(stem.split())[:80].strip(". ")
    return stem or "Untitled note"
