"""The shape the style guide asks for, checked: modules under 400 lines, no two
modules of one name, and a function over 40 lines (its docstring aside) says why
in a comment."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("collab", "storage", "web", "cluster")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 40
REASON = "over 40 lines"  # the words a longer function's comment uses to say why


def modules() -> list[Path]:
    # Not the npm packages the front end's build installs under web/frontend (KaTeX ships .py).
    found = (path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    return sorted(path for path in found if "node_modules" not in path.parts)


def long_functions(path: Path) -> list[str]:
    """The functions of ``path`` over the limit, docstring aside, that do not say why."""
    source = path.read_text()
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        start = node.lineno
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            docstring = range(first.lineno, (first.end_lineno or first.lineno) + 1)
        else:
            docstring = range(0)
        assert node.end_lineno is not None
        size = sum(1 for n in range(start, node.end_lineno + 1) if n not in docstring)
        body = "\n".join(lines[start - 1 : node.end_lineno])
        if size > MAX_FUNCTION_LINES and REASON not in body.lower():
            found.append(f"{path.relative_to(ROOT)}:{start} {node.name} ({size} lines)")
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_a_module_stays_under_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES


def test_a_function_over_40_lines_says_why() -> None:
    found = [name for path in modules() for name in long_functions(path)]
    assert found == [], "say why in a comment with the words 'over 40 lines', or split it"


def test_no_two_modules_share_a_name_but_a_route_and_its_resource() -> None:
    """A name that needs CONTRIBUTING's table to tell two modules apart is one too many.

    A route module named after its resource (``web/routes/history.py`` beside
    ``storage/history.py``) is the one exception; migrations are numbered.
    """
    where: defaultdict[str, list[str]] = defaultdict(list)
    for path in modules():
        relative = path.relative_to(ROOT)
        route = relative.parent == Path("web/routes")
        if path.name != "__init__.py" and "migrations" not in relative.parts and not route:
            where[path.name].append(str(relative))
    twice = {name: paths for name, paths in where.items() if len(paths) > 1}
    assert twice == {}, "rename one of each: a module's name says its one concept"
