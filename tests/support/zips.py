"""A ``.zip`` made in memory, for the import tests (a space's, a note's)."""

from __future__ import annotations

import io
import zipfile


def zipped(files: dict[str, bytes | str]) -> bytes:
    """A deflated ``.zip`` of these files: name in the archive -> content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as made:
        for name, content in files.items():
            made.writestr(name, content)
    return buffer.getvalue()
