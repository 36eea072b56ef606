"""The arrows between packages point one way: web -> collab, storage; never back."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)


def imported_modules(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def imported_roots(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, files in imported_modules(package).items():
        found.setdefault(name.split(".")[0], set()).update(files)
    return found


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        # diff_match_patch: pure functions on strings, for restoring a version as a diff.
        ("collab", {"collab", "pycrdt", "diff_match_patch"}),
        ("storage", {"storage", "collab", "pycrdt", "sqlalchemy", "sqlmodel", "alembic"}),
        # The fan-out speaks to rooms through collab.fanout, and to Redis: no SQL, no web.
        ("cluster", {"cluster", "collab", "redis"}),
    ],
)
def test_a_package_imports_only_what_its_layer_allows(package: str, allowed: set[str]) -> None:
    foreign = {
        name: files
        for name, files in imported_roots(package).items()
        if name not in allowed and name not in STDLIB and name != "__future__"
    }
    assert foreign == {}


def test_nothing_imports_the_web_package_but_itself() -> None:
    for package in ("collab", "storage", "cluster"):
        assert "web" not in imported_roots(package)


# The SQL store implements collab's storage contract, so it may use the modules
# that define that contract, and the note's text helpers (its title and front
# matter); never rooms, peers or the protocol.
STORAGE_MAY_USE = {"collab.persistence", "collab.document", "collab.frontmatter"}


def test_storage_uses_only_collabs_storage_contract() -> None:
    used = {name for name in imported_modules("storage") if name.split(".")[0] == "collab"}
    assert used <= STORAGE_MAY_USE
