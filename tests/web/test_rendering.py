"""The note page's first paint (web/rendering.py): HackMD's Markdown, sanitised as the app does."""

from __future__ import annotations

from web.rendering import MAX_RENDERED_CHARS, first_paint, render_markdown, with_files


def test_hackmd_markdown_renders_and_the_front_matter_is_hidden() -> None:
    html, cut = render_markdown(
        "---\ntitle: T\n---\n# Plan\n\nH~2~O, x^2^, ~~old~~\n\n- [x] done\n\n"
        ":::info\nRead **this**\n:::\n\n:::spoiler Answer\n42\n:::\n"
    )
    assert not cut
    assert "title:" not in html
    assert "<h1>Plan</h1>" in html
    assert "H<sub>2</sub>O" in html and "x<sup>2</sup>" in html and "<s>old</s>" in html
    assert '<div class="alert alert-info">' in html
    assert "<details><summary>Answer</summary>" in html
    assert 'type="checkbox"' in html and 'disabled=""' in html


def test_what_could_run_restyle_or_leave_the_page_is_removed() -> None:
    html, _ = render_markdown(
        '<script>alert(1)</script><style>body{}</style><iframe src="https://e.com"></iframe>\n\n'
        '<span class="banner hljs-x language-py" style="color:red" id="app" onclick="x()">'
        "s</span>\n\n"
        '<input type="text" value="v"><form action="/x"><button>b</button></form>\n\n'
        "[js](javascript:alert(1)) [ok](https://e.com) ![plain](http://e.com/a.png)\n"
    )
    gone = ("<script", "<style", "<iframe", "onclick", "style=", 'id="app"', "banner")
    gone += ("<form", "<button", 'href="javascript', 'type="text"', "http://e.com")
    for what in gone:
        assert what not in html, what
    assert '<span class="language-py">s</span>' in html
    assert (
        '<a href="https://e.com" target="_blank" rel="noopener noreferrer nofollow">ok</a>' in html
    )
    assert '<img loading="lazy" alt="plain">' in html  # the CSP would block it: no src


def test_a_long_note_is_cut_at_a_blank_line() -> None:
    text = "".join(f"Paragraph {n}.\n\n" for n in range(MAX_RENDERED_CHARS // 10))
    html, cut = render_markdown(text)
    assert cut
    assert html.rstrip().endswith("</p>")
    assert "Paragraph 0." in html and f"Paragraph {MAX_RENDERED_CHARS // 10 - 1}." not in html


FILE_ID = "0123456789abcdef" * 4


def test_a_notes_files_are_addressed_through_the_token_of_the_page_showing_them() -> None:
    text = (
        f"![shot](attachment:{FILE_ID}) [report.pdf](attachment:{FILE_ID})\n\n"
        f'[odd](attachment:../../x) <img src="attachment:{FILE_ID[:8]}">'
        f"[upper](ATTACHMENT:{FILE_ID.upper()})\n\n"
        f"`![code](attachment:{FILE_ID})`\n"
    )
    shared = first_paint(text).html  # kept per text, for both links of the note
    assert "/api/notes/" not in shared
    html = with_files(shared, "view-token")
    assert f'<img src="/api/notes/view-token/files/{FILE_ID}" alt="shot" loading="lazy">' in html
    assert f'<a href="/api/notes/view-token/files/{FILE_ID}" target="_blank"' in html
    assert html.count("/api/notes/") == 2  # code stays text; only a whole id is a file
    assert "../../x" not in html and f'src="attachment:{FILE_ID[:8]}' not in html
    assert FILE_ID.upper() not in html
    assert f"<code>![code](attachment:{FILE_ID})</code>" in html
    assert with_files(first_paint(text).html, "edit-token").count("edit-token") == 2
