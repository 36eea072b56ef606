"""Timing the history routes of a running server over HTTP, from the same machine.

Every figure is the wall time of one request on one kept-alive connection to
127.0.0.1, from sending it to having read the whole answer: the server's own
time plus a localhost round trip and httpx's work (``/healthz`` is timed the
same way, to show how much that is).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx


@dataclass(frozen=True)
class Timing:
    """Milliseconds of some repetitions of one request."""

    what: str
    samples_ms: tuple[float, ...]
    detail: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]

    @property
    def worst(self) -> float:
        return max(self.samples_ms)


def time_request(
    what: str, send: Callable[[], httpx.Response], repeat: int, detail: str = ""
) -> Timing:
    """``send()`` ``repeat`` times after one untimed warm-up; each answer must be 2xx."""
    send().raise_for_status()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = send()
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return Timing(what, tuple(samples), detail)


class History:
    """One note's history routes, through one HTTP client."""

    def __init__(self, client: httpx.Client, token: str) -> None:
        self.client = client
        self.base = f"/api/notes/{token}/versions"

    def page(self, before: str | None = None, limit: int = 50) -> httpx.Response:
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        return self.client.get(self.base, params=params)

    def all_versions(self) -> list[dict[str, Any]]:
        """Every version, newest first (paging through all of them, untimed)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.page(found[-1]["id"] if found else None, limit=200)
            page.raise_for_status()
            versions: list[dict[str, Any]] = page.json()["versions"]
            if not versions:
                return found
            found += versions

    def open(self, version_id: str) -> httpx.Response:
        return self.client.get(f"{self.base}/{version_id}")

    def restore(self, version_id: str) -> httpx.Response:
        return self.client.post(f"{self.base}/{version_id}/restore", json={"author": "bench"})


def measure_listing(history: History, versions: list[dict[str, Any]], repeat: int) -> list[Timing]:
    """The first page of 50, and a page from the middle of the history."""
    middle = versions[len(versions) // 2]["id"]
    return [
        time_request("list: first page", history.page, repeat, f"of {len(versions)} versions"),
        time_request(
            "list: a middle page",
            partial(history.page, middle),
            repeat,
            f"the 50 after version {len(versions) // 2 + 1} of {len(versions)}, newest first",
        ),
    ]


def measure_opening(
    history: History, picks: list[tuple[str, dict[str, Any]]], repeat: int
) -> list[Timing]:
    """Each picked version, opened ``repeat`` times."""
    out = []
    for label, version in picks:
        answer = history.open(version["id"])
        answer.raise_for_status()
        size = len(answer.json()["content"].encode())
        out.append(
            time_request(
                f"open: {label}",
                partial(history.open, version["id"]),
                repeat,
                f"{size:,} bytes of text, as of {version['created_at'][:16]}",
            )
        )
    return out


def measure_restoring(
    history: History, label: str, old: dict[str, Any], recent: dict[str, Any], repeat: int
) -> Timing:
    """Restore ``old`` and ``recent`` in turn, ``repeat`` times in all (one warm-up first)."""
    sizes = [len(history.open(v["id"]).json()["content"].encode()) for v in (old, recent)]
    targets = [old["id"], recent["id"]] * ((repeat + 1) // 2 + 1)
    history.restore(targets.pop()).raise_for_status()  # loads the note into a room
    samples = []
    for target in targets[:repeat]:
        started = time.perf_counter()
        answer = history.restore(target)
        samples.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    return Timing(
        f"restore: {label}",
        tuple(samples),
        f"alternately to {sizes[0]:,} and {sizes[1]:,} bytes of text",
    )
