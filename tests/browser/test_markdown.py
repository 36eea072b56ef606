"""Markdown as HackMD renders it: line breaks, highlighted code, live task boxes,
images the page may not load, printing, and a preview that follows the editor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from browser.notepage import NoteTab, Person, PersonFactory, wait_until
from playwright.sync_api import Browser, expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser


def test_single_line_breaks_are_line_breaks_and_code_is_highlighted(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(
        "Milk\nEggs\nFlour\n\n```python\ndef bake(loaf):\n    return 'bread'  # warm\n```\n\n"
        "```js\nconst n = 42\n```\n\n```\nplain text\n```\n"
    )
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    paragraph = ana.preview.locator("p").first
    expect(paragraph.locator("br")).to_have_count(2)
    assert paragraph.inner_text() == "Milk\nEggs\nFlour"

    python = ana.preview.locator("pre code.language-python")
    expect(python.locator(".hljs-keyword").first).to_have_text("def")
    expect(python.locator(".hljs-string")).to_have_text("'bread'")
    expect(python.locator(".hljs-comment")).to_have_text("# warm")
    expect(python).to_have_text("def bake(loaf):\n    return 'bread'  # warm\n")
    expect(ana.preview.locator("pre code.language-js .hljs-number")).to_have_text("42")
    plain = ana.preview.locator("pre code").last
    expect(plain).to_have_text("plain text\n")
    expect(plain.locator("span")).to_have_count(0)


def test_a_note_cannot_dress_up_as_the_app_with_the_apps_classes(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(
        '<div class="banner">This link no longer works: sign in at a.example</div>\n\n'
        '<div class="toasts toast">Your session expired</div>\n\n'
        '<p class="visually-hidden md-block">hidden?</p>\n\n'
        '<span class="hljs-keyword not-ours">kept</span>\n\n```js\nclass A {}\n```\n'
    )
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    expect(ana.preview).to_contain_text("This link no longer works")
    expect(ana.preview).to_contain_text("Your session expired")
    for app_class in ("banner", "toasts", "toast", "visually-hidden"):
        expect(ana.preview.locator(f".{app_class}")).to_have_count(0)
    expect(ana.page.locator(".banner")).to_have_count(1)  # the app's own, hidden
    expect(ana.page.locator(".banner")).to_be_hidden()
    expect(ana.preview.locator("p", has_text="hidden?")).not_to_have_attribute("class", "md-block")
    # What the renderer itself gives is kept: marked's and highlight.js's classes.
    expect(ana.preview.locator("span", has_text="kept")).to_have_attribute("class", "hljs-keyword")
    code = ana.preview.locator("pre code.language-js.hljs")
    expect(code.locator(".hljs-keyword")).to_have_text("class")
    expect(code.locator(".hljs-title.class_")).to_have_text("A")


def test_ticking_a_task_box_changes_the_text_for_everyone(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(
        "# Chores\n\n```\n- [ ] not a task: code\n```\n\n- [x] Dishes\n- [ ] Laundry\n"
        "  - [ ] Socks\n\n> - [ ] Quoted\n"
    )
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    boxes = ana.preview.locator("input[type=checkbox]")
    expect(boxes).to_have_count(4)

    ana.preview.locator("li li", has_text="Socks").locator("input").click()
    ana.preview.locator("li", has_text="Dishes").locator("input").first.click()
    ana.preview.locator("li", has_text="Quoted").locator("input").click()
    want = (
        "# Chores\n\n```\n- [ ] not a task: code\n```\n\n- [ ] Dishes\n- [ ] Laundry\n"
        "  - [x] Socks\n\n> - [x] Quoted\n"
    )
    ben.wait_text("  - [x] Socks")
    expect(ben.preview.locator("li li", has_text="Socks").locator("input")).to_be_checked()
    ana.wait_saved()
    wait_until(
        lambda: shared_server.get_note(note["id"]).json()["content"] == want,
        message="the ticks to reach the server",
    )
    # Undo takes a tick back like any edit.
    ana.editor.click()
    ana.page.keyboard.press("Control+z")
    expect(ana.preview.locator("li", has_text="Quoted").locator("input")).not_to_be_checked()


def test_task_boxes_of_a_loose_list_are_labelled_and_can_be_ticked(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Loose\n\n- [ ] First\n\n- [ ] Second\n\n- [x] Third\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    boxes = ana.preview.get_by_role("checkbox", name="Done")
    expect(boxes).to_have_count(3)
    for index in range(3):
        expect(boxes.nth(index)).to_be_enabled()
    ana.preview.locator("li", has_text="Second").get_by_role("checkbox").click()
    ana.wait_text("- [x] Second")
    expect(ana.preview.locator("li", has_text="Second").get_by_role("checkbox")).to_be_checked()
    ana.wait_saved()


def test_reference_definitions_serve_every_block_and_are_shown_once(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    paragraphs = "".join(f"Paragraph {n} cites [the docs][docs].\n\n" for n in range(8))
    note = shared_server.post_note(
        f"# Refs\n\nA claim.[^1]\n\n{paragraphs}[docs]: https://example.com/docs\n"
        "[^1]: The footnote text.\n"
    )
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    expect(ana.preview.locator('a[href="https://example.com/docs"]')).to_have_count(8)
    expect(ana.preview.get_by_text("The footnote text.")).to_have_count(1)
    # Rendered once, as a footnote (hackmd.js), its mark numbered.
    expect(ana.preview.locator(".footnote")).to_have_text(["1. The footnote text."])
    expect(ana.preview.locator("sup.footnote-ref")).to_have_text(["[1]"])


def test_an_image_the_page_may_not_load_says_why(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(
        "# Pictures\n\n![a cat](http://example.com/cat.png)\n\n![ok](data:image/gif;base64,"
        "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7)\n\n![gone](/static/missing.png)\n"
    )
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    blocked = ana.preview.locator(".image-notice", has_text="a cat")
    expect(blocked).to_contain_text("not shown")
    expect(blocked).to_contain_text("plain http: address")
    expect(blocked.get_by_role("link", name="Open it")).to_have_attribute(
        "href", "http://example.com/cat.png"
    )
    expect(ana.preview.locator("img[alt=ok]")).to_be_visible()
    expect(ana.preview.locator(".image-notice", has_text="gone")).to_contain_text(
        "could not be loaded"
    )
    # No request was refused by the CSP: the fixture fails the test on any violation.


def test_printing_shows_the_whole_rendered_note_and_nothing_else(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    lines = "\n\n".join(f"Paragraph {n} of a long note." for n in range(1, 121))
    note = shared_server.post_note(f"# Printed\n\n{lines}\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    ana.page.locator(".modes [data-mode=edit]").click()  # the preview is not even shown
    ana.page.emulate_media(media="print")
    ana.page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    for hidden in (".topbar", ".presence-bar", "#editor", "#toasts"):
        expect(ana.page.locator(hidden)).to_be_hidden()
    expect(ana.preview).to_be_visible()
    last = ana.preview.get_by_text("Paragraph 120 of a long note.")
    expect(last).to_be_visible()
    # Nothing clips it: the page is as long as the note, and the note scrolls nowhere.
    sizes = ana.page.evaluate(
        """() => {
      const preview = document.querySelector('#preview')
      return { page: document.documentElement.scrollHeight, inner: preview.scrollHeight,
               shown: preview.clientHeight, viewport: innerHeight }
    }"""
    )
    assert sizes["page"] > 4 * sizes["viewport"], sizes
    assert sizes["inner"] <= sizes["shown"] + 1, sizes
    ana.page.emulate_media(media="screen")
    ana.page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")


# The editor's lines whose top is in the first 200 px of its visible area.
PANES_SCROLLED = """() => [
  document.querySelector('#editor .cm-scroller').scrollTop,
  document.querySelector('#preview').scrollTop,
]"""


def _at_rest(person: Person) -> Callable[[], bool]:
    """A check that holds once neither pane moved between two calls."""
    seen: list[object] = []

    def check() -> bool:
        seen.append(person.page.evaluate(PANES_SCROLLED))
        return len(seen) > 1 and seen[-1] == seen[-2]

    return check


LINES_AT_TOP = """() => {
  const top = document.querySelector('#editor .cm-scroller').getBoundingClientRect().top
  return [...document.querySelectorAll('#editor .cm-line')]
    .filter((line) => {
      const y = line.getBoundingClientRect().top - top
      return y >= -5 && y < 200
    })
    .map((line) => line.textContent)
}"""

HEADING_TOP = """(name) => {
  const heading = [...document.querySelectorAll('#preview h2')].find((h) => h.textContent === name)
  const pane = document.querySelector('#preview').getBoundingClientRect()
  return heading.getBoundingClientRect().top - pane.top
}"""


def test_the_preview_follows_the_editors_scroll_position_and_back(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    sections = "".join(f"## Part {n}\n\n" + "Some words.\n\n" * 6 for n in range(1, 41))
    note = shared_server.post_note(f"# Long\n\n{sections}")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    expect(ana.preview.locator("h2").last).to_have_text("Part 40")

    # Scroll the editor so that "## Part 30" is at its top.
    ana.page.evaluate(
        """() => {
      const scroller = document.querySelector('#editor .cm-scroller')
      scroller.scrollTop = scroller.scrollHeight * (29 * 14 + 2) / (40 * 14 + 2)
    }"""
    )
    # The preview shows Part 30 near its top (within a few lines either way).
    wait_until(
        lambda: abs(ana.page.evaluate(HEADING_TOP, "Part 30")) < 200,
        message="the preview to scroll to Part 30",
    )
    # A person reads before scrolling the other pane: both come to rest first. (CodeMirror
    # goes on adjusting its scroll as it measures the lines it jumped to; an adjustment
    # landing between the preview's scroll and its event once moved the preview back and
    # the app took the event for the echo of its own scrolling: CI, 2026-11-28.)
    wait_until(_at_rest(ana), interval_s=0.3, message="both panes to come to rest")
    # And back: scrolling the preview to Part 10 brings the editor there.
    ana.page.evaluate(
        """() => {
      const preview = document.querySelector('#preview')
      const heading = [...preview.querySelectorAll('h2')].find((h) => h.textContent === 'Part 10')
      preview.scrollTop = heading.offsetTop - 16
    }"""
    )
    wait_until(
        lambda: "## Part 10" in ana.page.evaluate(LINES_AT_TOP),
        message="the editor to scroll to Part 10",
    )


HACKMD_NOTE = """---
title: Team handbook
tags: [onboarding, Ops]
---
[TOC]

# Welcome :smile:

Water is H~2~O, x^2^ grows, ==remember this== and ~~not this~~.

Euler: $e^{i\\pi} + 1 = 0$, costs $5 and $6, and $\\frac{1$ is broken.

$$
\\int_0^1 x\\,dx

= \\frac{1}{2}
$$

:::info
Read this first.

Then **this**.
:::

:::spoiler The answer
Forty-two.
:::

## Footnotes
As said before[^why], and again[^why] and elsewhere[^other].

[^why]: Because it is so.
[^other]: Another place.
"""


def test_an_imported_hackmd_note_reads_as_it_did_there_and_is_titled_by_its_front_matter(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(HACKMD_NOTE)
    vic_profile = person("Vic")
    fetched: list[str] = []
    vic_profile.context.on("request", lambda request: fetched.append(request.url))
    vic = vic_profile.open(shared_server.url + note["view_url"]).wait_ready()
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    for tab in (ana, vic):  # the editor's preview and the reading page render alike
        preview = tab.preview
        expect(tab.page).to_have_title("Team handbook · collab-notes")
        expect(preview).not_to_contain_text("title:")  # front matter is metadata
        expect(preview.locator("h1")).to_have_text(["Welcome 😄"])  # the emoji table loads
        expect(preview.locator('span[role="img"][aria-label="smile"]')).to_have_count(1)
        expect(preview.locator("nav.toc li")).to_have_text(["Welcome 😄", "Footnotes"])
        expect(preview.locator("sub")).to_have_text("2")
        expect(preview.locator("sup:not(.footnote-ref)")).to_have_text("2")
        expect(preview.locator("mark")).to_have_text("remember this")
        expect(preview.locator("del")).to_have_text("not this")
        info = preview.locator("div.alert.alert-info")
        expect(info.locator("p")).to_have_text(["Read this first.", "Then this."])
        expect(preview.locator("details summary")).to_have_text("The answer")
        expect(preview.locator("sup.footnote-ref")).to_have_text(["[1]", "[1]", "[2]"])
        expect(preview.locator(".footnote")).to_have_text(
            ["1. Because it is so.", "2. Another place."]
        )
        expect(preview).not_to_contain_text(":::")
        # Math: KaTeX (loaded on first use) as MathML; an error in place; prices stay text.
        expect(preview.locator(".math:not(.math-error) math")).to_have_count(2)
        expect(preview.locator(".math-display math[display=block]")).to_have_count(1)
        expect(preview.locator(".math-error")).to_contain_text("\\frac{1")
        expect(preview).to_contain_text("costs $5 and $6")
    expect(ana.page.locator("#note-title")).to_have_text("Team handbook")
    # With the files it needed loaded, a note without a diagram never fetched Mermaid's.
    assert any("/static/katex.js" in url for url in fetched)
    assert not any("/static/mermaid.js" in url for url in fetched), fetched

    # A [TOC] entry moves the preview to its heading, within the page.
    ana.page.set_viewport_size({"width": 1200, "height": 300})
    before = ana.page.url
    ana.preview.locator("nav.toc a", has_text="Footnotes").click()
    heading = ana.preview.locator("h2", has_text="Footnotes")
    wait_until(
        lambda: heading.evaluate(
            "h => { const r = h.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight }"
        )
    )
    assert ana.page.url == before

    export = httpx.get(f"{shared_server.url}/api/notes/{note['id']}/export.md", timeout=10)
    assert 'filename="Team handbook.md"' in export.headers["content-disposition"]


def test_the_reading_page_shows_the_note_before_it_syncs_and_with_scripts_blocked(
    shared_server: ServerProcess, browser: Browser
) -> None:
    long_tail = "".join(f"Paragraph {n} of the long tail.\n\n" for n in range(1500))
    note = shared_server.post_note(
        "---\ntitle: Launch plan\n---\n# Launch plan\n\nShip it on **Friday**.\n\n"
        ":::warning\nNot before the tests pass.\n:::\n\n"
        '<script>window.ran = 1</script><img src="x" onerror="window.ran = 2">\n\n' + long_tail
    )
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(shared_server.url + note["view_url"])
        assert response is not None and response.ok
        preview = page.locator("#preview")
        expect(preview.locator("h1")).to_have_text("Launch plan")
        expect(preview.locator("strong")).to_have_text("Friday")
        expect(preview.locator("div.alert.alert-warning")).to_have_text(
            "Not before the tests pass."
        )
        expect(preview).not_to_contain_text("title:")
        expect(preview.locator("script")).to_have_count(0)
        assert preview.locator("img").get_attribute("onerror") is None
        # A long note is cut at a blank line, and says where the rest is.
        expect(preview.locator(".first-paint-cut a")).to_have_attribute(
            "href", f"/api/notes/{note['view_id']}/export.md"
        )
        html = page.content()
        assert note["id"] not in html  # a view page never carries the edit token
        assert 'property="og:title" content="Launch plan"' in html
        assert 'name="description" content="Ship it on Friday.' in html
    finally:
        context.close()


DIAGRAMS_NOTE = """# Plans

```mermaid
flowchart LR
  A[Start here] --> B{Decide}
  B --> C[Ship it]
```

```mermaid
%%{init: {"securityLevel": "loose", "htmlLabels": true, "flowchart": {"htmlLabels": true}}}%%
flowchart TD
  X["<img src=x onerror=window.__pwned=1>"] --> Y[Press me] --> Z[Or me]
  click Y call pwn()
  click Z href "javascript:window.__pwned=3"
  click X href "https://example.com/x"
```

```mermaid
flowchart LR
  A --> (broken
```
"""

DIAGRAM_STATE = """(diagram) => {
  const svg = diagram.querySelector('svg')
  const rect = svg.querySelector('.node rect, .node polygon')
  return { fill: getComputedStyle(rect).fill, width: svg.getBoundingClientRect().width,
           foreign: svg.querySelectorAll('foreignObject, img').length }
}"""

# Counts the diagrams shown as code while Mermaid draws them (a flash), and those
# shown at once from a drawing kept for their text.
WATCH_PENDING = """() => {
  window.diagramsSeen = { asCode: 0, drawn: 0 }
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes) {
      const added = node instanceof Element ? [node, ...node.querySelectorAll('.diagram')] : []
      for (const el of added.filter((el) => el.matches('.diagram'))) {
        if (el.querySelector(':scope > pre')) window.diagramsSeen.asCode++
        else if (!el.matches('.diagram-pending')) window.diagramsSeen.drawn++
      }
    }
  }).observe(document.querySelector('#preview'), { childList: true, subtree: true })
}"""


RECORD_CSP_REPORTS = """
window.cspReports = []
document.addEventListener('securitypolicyviolation', (event) => {
  window.cspReports.push([event.sourceFile, event.lineNumber, event.columnNumber])
})
"""
STATIC = Path(__file__).resolve().parents[2] / "web" / "static"


def _only_detached_parses(someone: Person, tab: NoteTab) -> None:
    """Accept the CSP reports of parsing into a detached document, and only those.

    Mermaid's strict level sanitises its SVG and a note's labels with DOMPurify, which
    parses them with DOMParser: Chromium reports the <style> and `onerror=` it meets
    there, though a detached document applies and runs nothing. Every report must come
    from such a parseFromString call; a refusal in the page itself still fails the test.
    """
    reports = tab.page.evaluate("() => window.cspReports")
    for source, line, column in reports:
        assert source.split("?")[0].endswith("/static/mermaid.js"), reports
        code = (STATIC / "mermaid.js").read_text().splitlines()[line - 1]
        assert code[column - 1 :].startswith("parseFromString("), (source, line, column)
    violations = [p for p in someone.problems if p.startswith("CSP violation")]
    assert len(violations) == len(reports), (violations, reports)
    someone.problems[:] = [p for p in someone.problems if not p.startswith("CSP violation")]


def test_mermaid_diagrams_are_drawn_styled_and_safe_with_errors_in_place_and_in_print(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note(DIAGRAMS_NOTE)
    editor, reader = person("Ana"), person("Vic")
    for someone in (editor, reader):
        someone.context.add_init_script(RECORD_CSP_REPORTS)
    ana = editor.open(shared_server.url + note["url"]).wait_ready()
    vic = reader.open(shared_server.url + note["view_url"]).wait_ready()
    ana.page.evaluate("() => { window.pwn = () => { window.__pwned = 2 } }")
    for tab in (ana, vic):  # the editor's preview and the reading page
        diagrams = tab.preview.locator(".diagram")
        expect(diagrams.locator("svg")).to_have_count(2)
        expect(diagrams.nth(0).locator("svg text")).to_contain_text(
            ["Start here", "Decide", "Ship it"]
        )
        # Mermaid's <style> applied (the page's nonce): its theme's node fill, not SVG's black.
        state = diagrams.nth(0).evaluate(DIAGRAM_STATE)
        assert state["fill"] == "rgb(236, 236, 255)", state
        # The init directive could not loosen it: no HTML labels, the label is text.
        assert diagrams.nth(1).evaluate(DIAGRAM_STATE)["foreign"] == 0
        expect(diagrams.nth(1).locator("svg text", has_text="<img")).to_have_count(1)
        links = diagrams.nth(1).locator("a")  # a link opens apart; javascript: is none
        expect(links).to_have_count(2)
        expect(links.first).to_have_attribute("target", "_blank")
        for link in links.all():
            assert "javascript" not in (link.get_attribute("href") or ""), link
        # A diagram that does not parse says so in place, Mermaid's message and its source.
        broken = diagrams.nth(2)
        expect(broken.locator(".diagram-message")).to_contain_text(
            "This diagram could not be drawn: Parse error on line 2"
        )
        expect(broken.locator("pre code")).to_contain_text("A --> (broken")
    for label in ("Press me", "Or me"):
        ana.preview.locator(".diagram").nth(1).locator(".node", has_text=label).click()
    assert ana.page.evaluate("() => window.__pwned") is None

    # Editing a diagram draws it again, its last drawing shown meanwhile, never its code;
    # undoing shows the drawing kept for that text at once; an edit elsewhere leaves the
    # drawings as they are.
    ana.page.evaluate(WATCH_PENDING)
    ana.type_at_end_of("A[Start here]", " --> D[Later]")
    expect(ana.preview.locator(".diagram").nth(0).locator("svg")).to_contain_text("Later")
    ana.page.keyboard.press("Control+z")
    expect(ana.preview.locator(".diagram").nth(0).locator("svg")).not_to_contain_text("Later")
    seen = ana.page.evaluate("() => window.diagramsSeen")
    assert seen["asCode"] == 0 and seen["drawn"] >= 1, seen
    ana.page.locator(".diagram svg").first.evaluate("svg => { svg.dataset.kept = '1' }")
    ana.type_at_end_of("# Plans", " for May")
    expect(ana.preview.locator("h1")).to_have_text("Plans for May")
    expect(ana.preview.locator(".diagram svg[data-kept]")).to_have_count(1)

    # Print (More > Print) waits for a diagram edited while the preview was hidden.
    ana.page.locator(".modes [data-mode=edit]").click()
    ana.type_at_end_of("B --> C[Ship it]", " --> E[Party]")
    ana.page.evaluate(
        """() => { window.print = () => {
          const first = document.querySelector('#preview .diagram')
          window.printed = { text: first.textContent, pending: first.matches('.diagram-pending') }
        } }"""
    )
    ana.page.locator("#menu-open").click()
    ana.page.locator("[data-print]").click()
    wait_until(lambda: ana.page.evaluate("() => window.printed") is not None)
    printed = ana.page.evaluate("() => window.printed")
    assert "Party" in printed["text"] and not printed["pending"], printed
    ana.page.evaluate("() => window.dispatchEvent(new Event('afterprint'))")
    ana.page.locator(".modes [data-mode=both]").click()

    # Printed, the diagrams are on the page.
    vic.page.emulate_media(media="print")
    expect(vic.preview.locator(".diagram svg").first).to_be_visible()
    assert vic.preview.locator(".diagram").first.evaluate(DIAGRAM_STATE)["width"] > 100
    vic.page.emulate_media(media="screen")

    # The history's rendered view draws them too (from the drawings kept, at once).
    history = ana.history()
    history.select(0)
    history.choose("Rendered")
    rendered = history.dialog.locator(".version-rendered .diagram")
    expect(rendered.locator("svg")).to_have_count(2)
    expect(rendered.nth(0).locator("svg text")).to_contain_text(["Start here"])
    assert rendered.nth(0).evaluate(DIAGRAM_STATE)["fill"] == "rgb(236, 236, 255)"
    expect(rendered.nth(2).locator(".diagram-message")).to_contain_text("Parse error")

    for someone, tab in ((editor, ana), (reader, vic)):
        assert tab.page.evaluate("() => window.__pwned") is None
        _only_detached_parses(someone, tab)
