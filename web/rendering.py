"""A note's Markdown rendered on the server, for the page's first paint.

The note page carries its note rendered, so that a view link is readable before
the websocket syncs, a link preview gets a title and a description, and the page
reads with scripts blocked. The browser's own renderer (``web/frontend/src/preview.js``
with ``hackmd.js``) takes over once the note has synced.

The rules are the browser's: Markdown as HackMD writes it (line breaks, GFM
tables, strikethrough and task lists, footnotes, ``:::info`` containers, ``H~2~O``
and ``x^2^``, the front matter hidden), raw HTML allowed and then sanitised by an
allow-list (``nh3``, Rust's ammonia): no script, style, form or frame, no
``style``/``id``/``name`` attributes, only the renderer's own classes, links
opened apart with ``rel="noopener noreferrer nofollow"``, task boxes disabled.
markdown-it-py is pure Python: a long note is rendered up to
:data:`MAX_RENDERED_CHARS` (the rest follows when the page syncs), off the event
loop, and a rendering is kept for the next visitor of the same text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from storage.summaries import excerpt_of

MAX_RENDERED_CHARS = 20_000
"""How much of a note the page carries rendered: a few screens, about 40-170 ms of
Python on the development machine (pure Python holds the GIL: a whole 200 KB note
would cost the event loop's other rooms a second). It is cut at a blank line."""

CONTAINERS = ("info", "warning", "success", "danger")

# The classes the browser's renderer gives (preview.js's RENDERER_CLASS and
# hackmd.js's HACKMD_CLASS); a note's own other classes are dropped.
_KEPT_CLASS = re.compile(
    r"^(?:language-[\w+#.-]+|alert|alert-(?:info|warning|success|danger)"
    r"|footnote|footnote-ref|footnote-label|toc|toc-[1-6])$"
)

# A note's own file, as its text names it: ``attachment:<sha256 hex>``, never a token.
ATTACHMENT = re.compile(r"^attachment:([0-9a-f]{64})$")

# What the page's CSP lets an image load from (``img-src 'self' data: https:``; no data:
# URLs here): https: addresses, this server's own paths and the note's own files.
_LOADABLE = re.compile(r"^(?:https:|/(?!/)|attachment:[0-9a-f]{64}$)", re.IGNORECASE)

# A sanitised rendering's file addresses (only in a tag: text has its ``<`` escaped).
_FILE_ADDRESS = re.compile(
    r'(<(?:img|a)\s(?:[^>"]|"[^"]*")*?(?:src|href)=")attachment:([0-9a-f]{64})"'
)

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "s", "samp", "section", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "input": {"type", "checked"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
}


def _keep(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [name for name in value.split() if _KEPT_CLASS.match(name)]
        return " ".join(kept) or None
    if tag == "input" and attribute == "type":
        return "checkbox"  # a task box, whatever the note says
    if tag == "img" and attribute == "src" and not _LOADABLE.match(value):
        return None  # the page's CSP would block it; the browser's renderer says why
    if tag == "a" and attribute == "href" and value.startswith("#"):
        return None  # footnote marks: the page has no ids to go to (none are kept)
    if value[:11].lower() == "attachment:" and not ATTACHMENT.match(value):
        return None  # only a file id: anything else would make an address of its own
    return value


_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    attributes=_ATTRIBUTES,
    attribute_filter=_keep,
    url_schemes={"http", "https", "mailto", "attachment"},  # attachment: see with_files
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={
        "a": {"target": "_blank"},
        "input": {"disabled": ""},
        "img": {"loading": "lazy"},
    },
    strip_comments=True,
)


def _alert(kind: str) -> Callable[[RendererHTML, list[Token], int, OptionsDict, EnvType], str]:
    """The renderer of a ``:::kind`` container: the browser's ``alert alert-kind`` box."""

    def render(
        self: RendererHTML, tokens: list[Token], idx: int, _options: OptionsDict, env: EnvType
    ) -> str:
        return f'<div class="alert alert-{kind}">\n' if tokens[idx].nesting == 1 else "</div>\n"

    return render


def _spoiler(
    self: RendererHTML, tokens: list[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    if tokens[idx].nesting == -1:
        return "</details>\n"
    summary = tokens[idx].info.strip().removeprefix("spoiler").strip() or "Spoiler"
    return f"<details><summary>{escapeHtml(summary)}</summary>\n"


def _nothing(
    self: RendererHTML, tokens: list[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    return ""


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"breaks": True, "html": True})
    md.enable(["table", "strikethrough"])
    md.use(front_matter_plugin).use(footnote_plugin).use(tasklists_plugin)
    md.use(sub_plugin).use(superscript_plugin)
    for kind in CONTAINERS:
        md.use(container_plugin, name=kind, render=_alert(kind))
    md.use(container_plugin, name="spoiler", render=_spoiler)
    md.add_render_rule("front_matter", _nothing)  # metadata, not text
    return md


_MARKDOWN = _parser()


def render_markdown(text: str) -> tuple[str, bool]:
    """``text`` as sanitised HTML, and whether it was cut at :data:`MAX_RENDERED_CHARS`."""
    cut = len(text) > MAX_RENDERED_CHARS
    if cut:
        end = text.rfind("\n\n", 0, MAX_RENDERED_CHARS)
        text = text[: end if end > 0 else MAX_RENDERED_CHARS]
    return str(_CLEANER.clean(_MARKDOWN.render(text))), cut


@dataclass(frozen=True, slots=True)
class FirstPaint:
    """What the note page carries of its note before the live page takes over."""

    html: str  # sanitised
    cut: bool  # the note goes on past what ``html`` shows
    description: str  # its first words, for link previews


@lru_cache(maxsize=32)
def first_paint(text: str) -> FirstPaint:
    """The note page's rendering of ``text``, kept for the next visitor of the same text."""
    html, cut = render_markdown(text)
    return FirstPaint(html, cut, excerpt_of(text))


def with_files(html: str, token: str) -> str:
    """``html`` (a sanitised rendering) with each ``attachment:<id>`` made the address of
    that file under ``token``, the token of the page showing it.

    The rendering is kept per text and shared by both links of a note; the token goes in
    only here, per page, so a view page carries view-token addresses alone.
    """
    if "attachment:" not in html:
        return html
    return _FILE_ADDRESS.sub(lambda m: f'{m[1]}/api/notes/{token}/files/{m[2]}"', html)
