"""Dark mode, distinct presence colours, and one chip per person however many tabs."""

from __future__ import annotations

import colorsys
import itertools
import json
import re
from pathlib import Path

import pytest
from browser.notepage import PersonFactory, wait_until
from playwright.sync_api import expect
from support.server import ServerProcess

pytestmark = pytest.mark.browser

IDENTITY_JS = Path(__file__).resolve().parents[2] / "web" / "frontend" / "src" / "identity.js"


def palette() -> list[str]:
    source = IDENTITY_JS.read_text()
    block = re.search(r"export const COLORS = \[([^\]]*)\]", source)
    assert block is not None
    return re.findall(r"'(#[0-9a-f]{6})'", block.group(1))


def luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_ten_presence_colours_of_distinct_hues_that_carry_white_text() -> None:
    colors = palette()
    assert len(colors) == len(set(colors)) == 10
    hues = sorted(
        colorsys.rgb_to_hls(*(int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360
        for c in colors
    )
    gaps = [b - a for a, b in itertools.pairwise(hues)] + [360 - hues[-1] + hues[0]]
    assert min(gaps) >= 18, hues
    for color in colors:
        assert contrast(color, "#ffffff") >= 4.5, color  # caret labels: white on the colour
        assert contrast(color, "#0d1117") >= 3.0, color  # carets on the dark background


def test_people_who_picked_the_same_colour_are_shown_in_different_ones(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Colours\n")
    same = "#e02939"
    tabs = []
    for name in ("Ana", "Ben", "Cleo"):
        profile = person(name)
        identity = json.dumps(json.dumps({"name": name, "color": same}))
        profile.context.add_init_script(
            f"localStorage.setItem('collab-notes:identity', {identity})"
        )
        tabs.append(profile.open(shared_server.url + note["url"]).wait_ready())
    ana = tabs[0]
    ana.wait_names("Ana", "Ben", "Cleo")

    def colours() -> list[str]:
        return ana.page.locator("#presence .person .dot").evaluate_all(
            "(dots) => dots.map((dot) => getComputedStyle(dot).backgroundColor)"
        )

    wait_until(lambda: len(set(colours())) == 3, message=f"three colours, shown {colours()}")


def test_the_same_person_in_two_tabs_is_one_chip(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Tabs\n")
    ana_profile = person("Ana")
    ana = ana_profile.open(shared_server.url + note["url"]).wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ana_again = ana_profile.open(shared_server.url + note["url"]).wait_ready()
    ben.wait_names("Ana", "Ben")
    chip = ben.people.filter(has_text="Ana")
    expect(chip.locator(".badge")).to_have_text("2 tabs")
    expect(ben.toasts.filter(has_text="Ana joined")).to_have_count(0)  # she was here already
    ana_again.page.close()
    expect(chip.locator(".badge")).to_have_count(0)
    expect(ben.toasts.filter(has_text="Ana left")).to_have_count(0)  # she is still here
    expect(ana.page.locator("#presence .person.self .badge")).to_have_text("you")


def test_dark_mode_follows_the_system_editor_and_carets_included(
    shared_server: ServerProcess, person: PersonFactory
) -> None:
    note = shared_server.post_note("# Night\n\n`code`\n")
    ana = person("Ana").open(shared_server.url + note["url"])
    ana.page.emulate_media(color_scheme="dark")
    ana.wait_ready()
    ben = person("Ben").open(shared_server.url + note["url"]).wait_ready()
    ben.type(" typed")

    def style(selector: str, prop: str) -> str:
        # Found and read in one task: the preview re-renders as Ben types, and an element
        # found first and read after it was replaced has no computed style ("").
        return str(
            ana.page.evaluate(
                "([selector, prop]) => getComputedStyle(document.querySelector(selector))[prop]",
                [selector, prop],
            )
        )

    assert luminance_of(style("body", "backgroundColor")) < 0.05
    assert luminance_of(style("#editor .cm-editor", "backgroundColor")) < 0.05
    assert luminance_of(style("#editor .cm-content", "color")) > 0.6
    assert luminance_of(style("#preview code", "backgroundColor")) < 0.1
    expect(ana.page.locator(".cm-ySelectionCaret")).to_be_visible()
    ana.page.emulate_media(color_scheme="light")
    assert luminance_of(style("body", "backgroundColor")) > 0.8


def luminance_of(css_color: str) -> float:
    numbers = [int(float(n)) for n in re.findall(r"[\d.]+", css_color)[:3]]
    return luminance("#" + "".join(f"{n:02x}" for n in numbers))
