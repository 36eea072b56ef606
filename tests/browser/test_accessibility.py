"""Accessibility: axe-core finds nothing serious or critical on any page, in either theme,
and the connection and save status are announced to screen readers.

axe-core is the npm package pinned in web/frontend's lock file (installed by
scripts/test); it is injected with Playwright's init script, which the page's CSP
does not govern, so the pages are checked exactly as they are served.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser.notepage import HistoryView, NoteTab, PersonFactory, search_for
from playwright.sync_api import Page, expect
from support.http import http
from support.server import ServerProcess

pytestmark = pytest.mark.browser

AXE = (
    Path(__file__).resolve().parents[2]
    / "web"
    / "frontend"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] })
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => {
      const where = v.nodes.map((n) => n.target.join(' ')).join(', ')
      return `${v.impact} ${v.id}: ${v.help} (${where})`
    })
}"""


@pytest.fixture
def axe_person(person: PersonFactory) -> PersonFactory:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci --prefix web/frontend (scripts/test does)")

    def make(name: str, viewport: dict[str, int] | None = None) -> object:
        someone = person(name, viewport)
        someone.context.add_init_script(path=str(AXE))
        return someone

    return make  # type: ignore[return-value]


def violations(page: Page) -> list[str]:
    # A toast fading out (0.3 s) has, half-way, half its contrast: axe would measure
    # the animation, not the colours. Wait for it to be gone.
    page.wait_for_function("!document.querySelector('.toast.leaving')")
    found: list[str] = page.evaluate(RUN_AXE)
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_any_page(
    shared_server: ServerProcess, axe_person: PersonFactory, scheme: str
) -> None:
    note = shared_server.post_note(
        "# Checked\n\n- [ ] a task\n\n```python\nprint('hi')\n```\n\n![cat](http://example.com/c.png)\n"
    )
    ana = axe_person("Ana")
    ben = axe_person("Ben")
    tab = ana.open(shared_server.url + note["url"])
    tab.page.emulate_media(color_scheme=scheme)
    tab.wait_ready()
    ben.open(shared_server.url + note["url"]).wait_ready().type(" Ben was here")
    tab.wait_names("Ana", "Ben")
    tab.wait_text("Ben was here")
    assert violations(tab.page) == [], "note page"

    tab.page.locator("#menu-open").click()
    assert violations(tab.page) == [], "note page, menu open"
    tab.page.keyboard.press("Escape")

    tab.page.locator("#share-open").click()
    expect(tab.page.locator("#share-dialog")).to_be_visible()
    assert violations(tab.page) == [], "share dialog"
    tab.page.keyboard.press("Escape")

    tab.page.context.set_offline(True)
    tab.type(" offline edit")
    expect(tab.save_state).to_have_attribute("data-state", "waiting")
    assert violations(tab.page) == [], "offline, edits waiting"
    tab.page.context.set_offline(False)
    tab.wait_ready()

    viewer = axe_person("Vic").open(shared_server.url + note["view_url"])
    viewer.page.emulate_media(color_scheme=scheme)
    viewer.wait_ready()
    assert violations(viewer.page) == [], "view page (reading mode)"

    for path in ("/", "/n/no-such-note"):
        page = tab.page.context.new_page()
        page.emulate_media(color_scheme=scheme)
        page.goto(shared_server.url + path)
        assert violations(page) == [], path
    phone = axe_person("Dan", {"width": 390, "height": 844}).open(shared_server.url + note["url"])
    phone.page.emulate_media(color_scheme=scheme)
    phone.wait_ready()
    assert violations(phone.page) == [], "note page on a phone"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_in_the_history_view(
    shared_server: ServerProcess, axe_person: PersonFactory, scheme: str
) -> None:
    note = shared_server.post_note("# Checked history\n\n- [ ] a task\n\nA paragraph.\n")
    for viewport, where in ((None, ""), ({"width": 390, "height": 844}, ", on a phone")):
        tab = axe_person("Ana", viewport).open(shared_server.url + note["url"])
        tab.page.emulate_media(color_scheme=scheme)
        tab.wait_ready()
        tab.type(" More.")
        tab.wait_saved()
        history = tab.history()
        assert violations(tab.page) == [], f"history, the timeline{where}"
        history.select(0)
        assert violations(tab.page) == [], f"history, a version's changes inline{where}"
        if not viewport:
            history.choose("Side by side")
            assert violations(tab.page) == [], "history, side by side"
        history.choose("All lines")
        history.choose("Rendered")
        assert violations(tab.page) == [], f"history, a version rendered{where}"
        history.dialog.get_by_role("button", name="Restore this version…").click()
        assert violations(tab.page) == [], f"history, the restore confirmation{where}"
        history.dialog.get_by_role("button", name="Cancel").click()
        if viewport:
            history.dialog.get_by_role("button", name="← All versions").click()
        field = history.dialog.get_by_label("Name the current version")
        field.fill("x" * 101)
        expect(field).to_have_attribute("aria-invalid", "true")
        assert violations(tab.page) == [], f"history, a name too long{where}"
        tab.page.keyboard.press("Escape")
        HistoryView(tab.page).open().select(1)
        history.restore()
        expect(tab.page.locator("#restore-notice")).to_be_visible()
        assert violations(tab.page) == [], f"the notice after a restore{where}"
        tab.page.close()


def test_the_connection_and_saves_are_announced_to_screen_readers(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Spoken\n")
    ana = person("Ana").open(shared_server.url + note["url"]).wait_ready()
    announcer = ana.page.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    ana.type("Hello")
    expect(announcer).to_have_text("All changes saved.")
    ana.page.context.set_offline(True)
    expect(announcer).to_have_text("Offline.")
    ana.type("!")
    expect(announcer).to_have_text("Offline: 1 edit kept in this browser.")
    ana.page.context.set_offline(False)
    expect(announcer).to_have_text("All changes saved.")
    NoteTab(ana.page).wait_ready()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_a_space_page(
    shared_server: ServerProcess, axe_person: PersonFactory, scheme: str
) -> None:
    space = http.post(f"{shared_server.url}/api/spaces", json={"name": "Checked"}).json()
    http.post(
        f"{shared_server.url}/api/spaces/{space['id']}/notes",
        json={"content": "# Listed #tagged\nfirst words"},
    )
    for url in (space["url"], space["view_url"]):
        page = axe_person("Ana").open(shared_server.url + url).page
        page.emulate_media(color_scheme=scheme)
        expect(page.locator("#space-notes .space-note-title")).to_have_text(["Listed #tagged"])
        search_for(page, "Search the notes of this space", "first", "1 found")
        page.locator("#share-open").click()
        expect(page.locator("#share-dialog")).to_be_visible()
        assert violations(page) == [], url


def realistic_note() -> str:
    """What a team's note holds after a week: every kind of block, and long enough to scroll."""
    parts = [
        "# Sprint notes\n\nOwner: the team. See [the plan](https://example.com/plan) and [docs].\n",
        "## Tasks\n\n- [ ] Tight one\n- [x] Tight two\n",
        "Loose ones:\n\n- [ ] Loose one\n\n- [x] Loose two\n\n1. First\n2. Second\n",
        "## Figures\n\n| metric | before | after |\n| --- | ---: | ---: |\n| p50 | 12 | 9 |\n",
        "```python\ndef total(xs):\n    return sum(xs)  # fast enough\n```\n",
        "> A quote, with `code` and **bold** and a footnote.[^1]\n",
        "### Log\n\n"
        + "\n\n".join(f"Day {n}: we met, we wrote, we shipped item {n}. " * 4 for n in range(40)),
        "[docs]: https://example.com/docs\n[^1]: The footnote.\n",
    ]
    return "\n".join(parts)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_a_realistic_note(
    shared_server: ServerProcess, axe_person: PersonFactory, scheme: str
) -> None:
    for viewport, where in ((None, ""), ({"width": 390, "height": 844}, ", on a phone")):
        note = shared_server.post_note(realistic_note())
        tab = axe_person("Ana", viewport).open(shared_server.url + note["url"])
        tab.page.emulate_media(color_scheme=scheme)
        tab.wait_ready()
        expect(tab.editor).to_be_focused()
        assert violations(tab.page) == [], f"a realistic note{where}"
        tab.page.get_by_role("button", name="Read", exact=True).click()
        expect(tab.preview.locator("table")).to_be_visible()
        assert violations(tab.page) == [], f"a realistic note in Read{where}"
        tab.page.get_by_role("button", name="Edit", exact=True).click()
        tab.delete_lines("Owner: the team", 1)
        tab.type("\n\nA new paragraph with a [link](https://example.com/new).")
        tab.wait_saved()
        history = tab.history()
        history.select(0)
        assert violations(tab.page) == [], f"a realistic note's diff{where}"
        history.choose("Current text")
        if viewport:
            history.dialog.get_by_role("button", name="← All versions").click()
        history.select(history.entries.count() - 1)
        assert violations(tab.page) == [], f"a realistic note's diff with the current text{where}"
        if not viewport:
            history.choose("Side by side")
            assert violations(tab.page) == [], "a realistic note's diff, side by side"
            history.choose("Inline")
        history.choose("Rendered")
        assert violations(tab.page) == [], f"a realistic version rendered{where}"
        tab.page.close()
    viewer = axe_person("Vic").open(shared_server.url + note["view_url"])
    viewer.page.emulate_media(color_scheme=scheme)
    viewer.wait_ready()
    assert violations(viewer.page) == [], "a realistic note's view page"
