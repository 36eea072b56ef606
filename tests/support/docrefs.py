"""Find references in prose that no longer resolve: the checker behind tests/test_docs.py.

Prose names code four ways, and each can go stale when code moves:

* a path from the repository's root (``collab/room.py``, ``deploy/nginx.conf``):
  the file or folder must exist;
* a dotted name under one of our packages (``storage.writer.Writer``): its module
  must import and every later part must be an attribute (an attribute a class
  sets in a method counts, and so does a logger name the code asks for);
* ``Class.attribute`` in backticks, for a class defined in one of our packages;
* a Markdown link to a file of the repository, and its ``#anchor`` if it has one.

Each finder takes text and returns what it could not resolve, so a test can feed
it a made-up text with a broken reference and see it caught.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import subprocess
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("collab", "storage", "web", "cluster")
TOP_FOLDERS = (*PACKAGES, "tests", "bench", "scripts", "deploy", "docs", "requirements")

# Not preceded by a word, a slash or a dot, so a URL's path or a relative path
# (``harness/backends.py``) is not taken for one from the root.
PATH = re.compile(rf"(?<![\w/.-])((?:{'|'.join(TOP_FOLDERS)})/[\w./-]*\w)")
DOTTED = re.compile(rf"(?<![\w/.-])((?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+)")
CLASS_ATTRIBUTE = re.compile(r"`([A-Z]\w+)\.([a-z_]\w*)(?:\(\))?`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
LOGGER = re.compile(r"getLogger\(\"([\w.]+)\"\)")


def missing_paths(text: str) -> list[str]:
    """Paths from the repository's root that ``text`` names and that do not exist,
    unless git ignores them (what a command makes: ``bench/results/``)."""
    return [path for path in PATH.findall(text) if not (ROOT / path).exists() and not _made(path)]


def unresolved_names(text: str) -> list[str]:
    """Dotted names under our packages in ``text`` that do not resolve."""
    return [name for name in DOTTED.findall(text) if not _resolves(name)]


def unknown_attributes(text: str) -> list[str]:
    """```Class.attribute``` references to one of our classes that lacks the attribute."""
    return [
        f"{cls}.{attribute}"
        for cls, attribute in CLASS_ATTRIBUTE.findall(text)
        if cls in _classes() and not _has(cls, attribute)
    ]


def broken_links(text: str, at: Path) -> list[str]:
    """Relative Markdown links in ``text`` (a file at ``at``) to a missing file or anchor."""
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (at.parent / path).resolve() if path else at
        if not linked.exists() or (anchor and anchor not in _anchors_of(linked)):
            broken.append(target)
    return broken


def _anchors_of(path: Path) -> set[str]:
    return anchors(path.read_text()) if path.suffix == ".md" else set()


def anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (fenced code skipped)."""
    found, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def problems(text: str, at: Path) -> list[str]:
    """Every reference in ``text`` (from the file ``at``) that does not resolve, named."""
    found = [f"path {path}" for path in missing_paths(text)]
    found += [f"name {name}" for name in unresolved_names(text)]
    found += [f"attribute {name}" for name in unknown_attributes(text)]
    if at.suffix == ".md":
        found += [f"link {link}" for link in broken_links(text, at)]
    return found


def prose() -> Iterator[tuple[Path, str]]:
    """The README, CONTRIBUTING, docs/ and bench's pages, then every docstring and
    comment of our packages, each with the file it is in."""
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(ROOT.glob("docs/*.md"))]
    for page in [*pages, *sorted(ROOT.glob("bench/*.md"))]:
        yield page, page.read_text()
    for module in _modules():
        source = module.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(node)
                if docstring:
                    yield module, docstring
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                yield module, token.string


def _made(path: str) -> bool:
    # Asked as a folder too: a pattern such as ``node_modules/`` matches only a folder.
    ignored = subprocess.run(
        ["git", "check-ignore", path, f"{path}/"], cwd=ROOT, capture_output=True, check=False
    )
    return ignored.returncode == 0


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def _resolves(name: str) -> bool:
    if name in _loggers():
        return True
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:]:
            if isinstance(found, type) and _has(found.__name__, part):
                if not hasattr(found, part):
                    return True  # set in a method: no value to look further into
            elif not hasattr(found, part):
                return False
            found = getattr(found, part)
        return True
    return False


def _has(cls: str, attribute: str) -> bool:
    """Whether a class of that name in our packages has the attribute: at run time
    (inherited ones too), or assigned to ``self`` in one of its methods."""
    for module, assigned in _classes().get(cls, []):
        defined = getattr(importlib.import_module(module), cls)
        if attribute in assigned or hasattr(defined, attribute):
            return True
    return False


@cache
def _loggers() -> frozenset[str]:
    return frozenset(name for path in _modules() for name in LOGGER.findall(path.read_text()))


@cache
def _classes() -> dict[str, list[tuple[str, set[str]]]]:
    """The top-level classes of our packages by name: each one's module, and the
    attributes its methods assign to ``self``."""
    classes: dict[str, list[tuple[str, set[str]]]] = {}
    for path in _modules():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        if ".migrations." in module:
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                classes.setdefault(node.name, []).append((module, _assigned_to_self(node)))
    return classes


def _assigned_to_self(cls: ast.ClassDef) -> set[str]:
    return {
        node.attr
        for node in ast.walk(cls)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
