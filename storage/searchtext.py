"""Search text, without SQL: folding words, reading a query, and cutting snippets.

Words are runs of letters and digits (underscores and punctuation separate
them, as in FTS5's ``unicode61`` tokenizer). They match regardless of case and
accents: :func:`fold` lowers and strips accents one character for one, so that
a query's words can be found in the stored text by a regular expression of
every form of each letter, which is what lets a snippet be cut and highlighted
from the stored text in Python, the same on SQLite and PostgreSQL
(PostgreSQL's ``ts_headline`` would highlight the folded text it was given,
not the note's).

A query is words and quoted phrases, every one required. A word joined to
another by punctuation (``foo-bar``, ``3.5``) is a phrase of its words. The
last word is also a prefix while it is being typed (the query does not end in
a space or a closing quote).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD = re.compile(r"[^\W_]+")
_NOT_WORD = re.compile(r"[\W_]+")
MAX_GROUPS = 16  # words and phrases in one query; more are ignored
MAX_WORD = 64  # characters of a word; a longer one is cut
SNIPPET_CHARS = 180
SNIPPET_LEAD = 50  # characters kept before the first match


def _fold_table() -> dict[int, str]:
    table = {}
    for code in range(0x2000):  # Latin, Greek, Cyrillic and the rest of the alphabets
        char = chr(code)
        parts = unicodedata.normalize("NFKD", char)
        folded = "".join(c for c in parts if not unicodedata.combining(c)).lower()
        if len(folded) == 1 and folded != char:
            table[code] = folded
    return table


_FOLD = _fold_table()


def _variants_table() -> dict[str, str]:
    """For each folded character, a regular expression class of every character folding to it."""
    variants: dict[str, set[str]] = {}
    for code, folded in _FOLD.items():
        variants.setdefault(folded, {folded}).add(chr(code))
    return {
        folded: "[" + re.escape("".join(sorted(chars))) + "]" for folded, chars in variants.items()
    }


_VARIANTS = _variants_table()
_SPACES = str.maketrans({"\n": " ", "\r": " ", "\t": " "})


def fold(text: str) -> str:
    """``text`` lowered and without accents, one character for one (offsets are kept)."""
    return text.translate(_FOLD)


def folded_words(text: str) -> str:
    """The words of ``text``, folded, one space apart (what PostgreSQL indexes)."""
    folded = text.lower() if text.isascii() else fold(text).lower()
    return _NOT_WORD.sub(" ", folded).strip()


@dataclass(frozen=True, slots=True)
class Query:
    """What to look for: groups of words that must follow each other (a word is a group of one).

    ``prefix``: the last word of the last group matches any word it begins.
    """

    groups: tuple[tuple[str, ...], ...]
    prefix: bool

    def fts5(self, *, title: bool = False) -> str:
        """The query as an FTS5 MATCH expression (every word quoted: no operators slip in);
        with ``title``, every word in the title column."""
        parts = ['"' + " ".join(group) + '"' for group in self.groups]
        if self.prefix:
            parts[-1] += "*"
        return "{title} : (" + " ".join(parts) + ")" if title else " ".join(parts)

    def tsquery(self) -> str:
        """The query as text for PostgreSQL's ``to_tsquery('simple', ...)``."""
        parts = [[f"'{word}'" for word in group] for group in self.groups]
        if self.prefix:
            parts[-1][-1] += ":*"
        return " & ".join("(" + " <-> ".join(group) + ")" for group in parts)

    def pattern(self) -> re.Pattern[str]:
        """A regular expression finding the query's words in the original text.

        Each letter is a class of every character that folds to it (``e``:
        ``[eEéÉèÈ...]``), so no text is folded to find them: folding a 10 KB body
        per hit, and a case-insensitive search, were most of a search's time.
        """
        words = sorted({word for group in self.groups for word in group}, key=len, reverse=True)
        last = self.groups[-1][-1]
        whole = [_any_form(w) for w in words if not (self.prefix and w == last)]
        alternatives = [w + r"\b" for w in whole]
        if self.prefix:
            alternatives.append(_any_form(last) + r"\w*")
        return re.compile(r"\b(?:" + "|".join(alternatives) + ")")


def _any_form(word: str) -> str:
    return "".join(_VARIANTS.get(char, re.escape(char)) for char in word)


def parse(text: str) -> Query | None:
    """The query typed, or None when it has no word to look for."""
    groups: list[tuple[str, ...]] = []
    for quoted, bare in re.findall(r'"([^"]*)"?|([^\s"]+)', text):
        chunk = quoted if quoted else bare
        words = tuple(w[:MAX_WORD] for w in WORD.findall(fold(chunk).lower()))
        if words:
            groups.append(words)
    if not groups:
        return None
    groups = groups[:MAX_GROUPS]
    stripped = text.rstrip()
    typing = stripped == text and bool(WORD.search(text[-1:]))
    return Query(tuple(groups), prefix=typing)


@dataclass(frozen=True, slots=True)
class Snippet:
    """Plain text around the first match, and where the matches are in it.

    ``highlights`` are ``[start, end)`` ranges in UTF-16 code units, as JavaScript
    strings count them, so a browser slices the text with them directly.
    """

    text: str
    highlights: tuple[tuple[int, int], ...]


def snippet(text: str, query: Query, *, chars: int = SNIPPET_CHARS) -> Snippet:
    """A piece of ``text`` of about ``chars`` characters, from just before its first match."""
    pattern = query.pattern()
    first = pattern.search(text)
    start = 0 if first is None else _word_start(text, max(0, first.start() - SNIPPET_LEAD))
    end = min(len(text), start + chars)
    if end < len(text):
        end = _word_end(text, end)
    piece = text[start:end].translate(_SPACES)
    lead = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    ranges = [
        (match.start() - start, match.end() - start) for match in pattern.finditer(text, start, end)
    ]
    shown = lead + piece + tail
    return Snippet(shown, tuple(_utf16(shown, a + len(lead), b + len(lead)) for a, b in ranges))


def highlights(text: str, query: Query) -> tuple[tuple[int, int], ...]:
    """Where the query's words are in ``text`` (a title), in UTF-16 code units."""
    return tuple(
        _utf16(text, match.start(), match.end()) for match in query.pattern().finditer(text)
    )


def _word_start(text: str, index: int) -> int:
    """``index``, moved back to the start of the word it falls in (by 20 characters at most)."""
    floor = max(0, index - 20)
    while index > floor and not text[index - 1].isspace():
        index -= 1
    return index


def _word_end(text: str, index: int) -> int:
    """``index``, moved on to the end of the word it falls in (by 20 characters at most)."""
    ceiling = min(len(text), index + 20)
    while index < ceiling and not text[index].isspace():
        index += 1
    return index


def _utf16(text: str, start: int, end: int) -> tuple[int, int]:
    if text.isascii():
        return start, end
    before = len(text[:start].encode("utf-16-le")) // 2
    return before, before + len(text[start:end].encode("utf-16-le")) // 2
