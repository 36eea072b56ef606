"""Fixtures for the browser tests: Debian's Chromium, driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (never a downloaded one), started
with the flags that keep it off the network it cannot reach. One browser serves
a test module; every person is a fresh context, so two people never share
storage, cookies or a BroadcastChannel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser.notepage import IDENTITY_KEY, Person
from playwright.sync_api import Browser, sync_playwright
from support.ci import IN_CI
from support.server import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDE = {"width": 1280, "height": 800}

# Fixed colours, so screenshots are stable; the app picks one of its own palette.
COLORS = {"Ana": "#e02939", "Ben": "#1b79bd", "Vic": "#13864d"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; missing, it fails the run in CI and skips it elsewhere.

    One per module, not per session: Playwright's sync API keeps an event loop
    marked as running while it is open, and the async tests of other packages
    cannot start theirs until it is closed.
    """
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (Debian's build is used)"
        if IN_CI:
            pytest.fail(reason)
        print(f"\nskipping browser tests: {reason}")
        pytest.skip(reason)
    # Playwright gives every launch a fresh temporary profile directory.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def person(browser: Browser) -> Iterator[Callable[..., Person]]:
    """Make people: ``person("Ana")`` is a fresh browser profile whose visitor is called Ana.

    At the end, no page may have thrown an uncaught error or violated the CSP.
    """
    people: list[Person] = []

    def make(
        name: str, viewport: dict[str, int] | None = None, *, bypass_csp: bool = False
    ) -> Person:
        context = browser.new_context(viewport=viewport or WIDE, bypass_csp=bypass_csp)
        context.set_default_timeout(10_000)
        identity = json.dumps({"name": name, "color": COLORS.get(name, "#5b5bd6")})
        # Only on the first page load: a rename later in the test must stick.
        context.add_init_script(
            f"if (!localStorage.getItem({IDENTITY_KEY!r})) "
            f"localStorage.setItem({IDENTITY_KEY!r}, {json.dumps(identity)})"
        )
        someone = Person(context, name)
        people.append(someone)
        return someone

    yield make
    problems = [f"{p.name}: {problem}" for p in people for problem in p.problems]
    for someone in people:
        someone.context.close()
    assert problems == [], "\n".join(problems)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for every test that never stops it; each test makes its own notes.

    Starting a server costs seconds on a small machine; tests that kill or restart
    one use the function-scoped ``server`` instead.
    """
    directory = tmp_path_factory.mktemp("shared-server")
    running = ServerProcess(directory / "notes.db", directory).start()
    yield running
    running.discard()
