"""Write the README's table of options from ``web/settings.py``.

    .venv/bin/python scripts/options_table.py

The table is made from the settings' fields (``web.settings.options_table``):
change an option's description there, then run this. ``tests/web/test_settings.py``
fails while the README's table differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from web.settings import options_table  # noqa: E402 (after the path is set)

HEADER = "| flag | environment | default | meaning |"


def replace_table(readme: str, table: str) -> str:
    """The README with its table of options (the lines from HEADER on) replaced."""
    lines = readme.splitlines(keepends=True)
    start = lines.index(HEADER + "\n")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "".join(lines[:start]) + table + "".join(lines[end:])


def main() -> None:
    """Rewrite README.md's table in place."""
    path = ROOT / "README.md"
    path.write_text(replace_table(path.read_text(), options_table()))


if __name__ == "__main__":
    main()
