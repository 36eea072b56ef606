"""One note and its files in a ``.zip``, and back.

An export holds ``<title>.md`` with each ``attachment:<id>`` the note has made a
relative link, ``files/<id>-<name>``, and those files beside it: it reads as it
did in any Markdown tool, and holds no token. An import takes such a ``.zip``, or
any ``.zip`` of one Markdown file with the files it links to beside it (a
folder zipped), and brings back as files of the new note exactly the entries its
relative links point at; those links become ``attachment:<id>`` again. The
archive is read as ``web.archive`` reads a space's: sizes checked before and
while inflating, names never used as paths, path tricks refused.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from web import archive

ATTACHMENT = re.compile(r"attachment:([0-9a-f]{64})")
FOLDER = "files"

# A link's destination in Markdown (``](dest)``, ``](<dest>)``, ``]: dest``) or HTML
# (``src="dest"``, ``href="dest"``): where a file beside the note may be named.
_DESTINATION = re.compile(
    r"(?P<lead>\]\(\s*|^\s*\[[^\]\n]+\]:\s*|\b(?:src|href)=\")(?P<dest><[^>\n]*>|[^\s)\"]+)",
    re.MULTILINE,
)


def entry_name(file: str, name: str) -> str:
    """Where a file of the note goes in the export: ``files/<id>-<name>``."""
    return f"{FOLDER}/{file}-{archive.file_stem(name)}"


def export(title: str, text: str, files: Mapping[str, tuple[str, bytes]]) -> bytes:
    """A ``.zip`` of the note (``text``) and its ``files`` (id -> name, bytes) it names."""
    return export_many([(title, text, files)])


def export_many(notes: Sequence[tuple[str, str, Mapping[str, tuple[str, bytes]]]]) -> bytes:
    """A ``.zip`` of notes (title, text, files): each ``<title>.md`` (names made unique),
    its files in ``files/`` beside it, each file once however many notes have it."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as made:
        for title, text, files in notes:
            made.writestr(archive.unique_name(title, used), _relative(text, files))
            for file, (name, data) in sorted(files.items()):
                entry = entry_name(file, name)
                if entry.lower() not in used:
                    used.add(entry.lower())
                    made.writestr(entry, data)
    return buffer.getvalue()


def _relative(text: str, files: Mapping[str, tuple[str, bytes]]) -> str:
    """``text`` with each ``attachment:<id>`` of ``files`` a link to its entry."""

    def relative(match: re.Match[str]) -> str:
        found = files.get(match[1])
        return match[0] if found is None else quote(entry_name(match[1], found[0]))

    return ATTACHMENT.sub(relative, text)


@dataclass
class Imported:
    """A note read from a ``.zip``: its Markdown (name, text), the files its links point at
    (their paths in the archive, and bytes), and what was left out, why."""

    name: str
    text: str
    files: dict[str, bytes] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)


def read(data: bytes, max_file_bytes: int) -> Imported:
    """The one Markdown file of a ``.zip`` and the files it links to; raises
    :class:`web.archive.ArchiveRefused` for a bad archive, or one without exactly one note."""
    unpacked = archive.read_markdown(data)
    if len(unpacked.files) != 1:
        raise archive.ArchiveRefused(
            f"the archive holds {len(unpacked.files)} Markdown files; a note is imported from "
            "one (import several into a space)"
        )
    name, text = unpacked.files[0]
    imported = Imported(name, text)
    wanted = linked_paths(text, posixpath.dirname(name))
    imported.files, imported.refused = read_linked(data, wanted, max_file_bytes)
    return imported


def read_linked(
    data: bytes, wanted: set[str], max_file_bytes: int
) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """The entries ``wanted`` of the ``.zip`` (path -> bytes), and those refused, why; raises
    :class:`web.archive.ArchiveRefused` when they inflate past the archive's limit."""
    found: dict[str, bytes] = {}
    refused: list[tuple[str, str]] = []
    with zipfile.ZipFile(io.BytesIO(data)) as opened:
        total = 0
        for info in opened.infolist():
            if info.filename not in wanted or archive.path_trick(info.filename):
                continue
            content, problem = archive.read_bytes(opened, info, max_file_bytes)
            total += len(content)
            if total > archive.MAX_TOTAL_BYTES:
                raise archive.ArchiveRefused(
                    f"the archive inflates to over {archive.MAX_TOTAL_BYTES} bytes"
                )
            if problem is None:
                found[info.filename] = content
            else:
                refused.append((info.filename, problem))
    return found, refused


def linked_paths(text: str, folder: str) -> set[str]:
    """The archive paths ``text``'s relative links point at, from ``folder``."""
    found: set[str] = set()
    relink(text, folder, lambda path: found.add(path))
    return found


def relink(text: str, folder: str, file_for: Callable[[str], str | None]) -> str:
    """``text`` with each relative link to ``folder``/path replaced by
    ``attachment:<file_for(path)>`` where that gives an id (the rest as it was)."""

    def replace(match: re.Match[str]) -> str:
        dest = match["dest"]
        bare = dest[1:-1] if dest.startswith("<") else dest
        path = _resolved(folder, unquote(bare.split("#", 1)[0].split("?", 1)[0]))
        file = None if path is None else file_for(path)
        return match[0] if file is None else f"{match['lead']}attachment:{file}"

    return _DESTINATION.sub(replace, text)


def _resolved(folder: str, link: str) -> str | None:
    """The archive path a relative link names, or None (an address, or outside it)."""
    if not link or ":" in link or link.startswith(("/", "#")):
        return None
    path = posixpath.normpath(posixpath.join(folder, link))
    return None if path.startswith("../") or path == ".." else path
