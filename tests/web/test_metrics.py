"""``/metrics``: what an editing session moves, the token that guards it, one registry per app."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.ci import IN_CI
from support.faults import break_appends_holding
from support.http import http
from support.live import LiveServer
from support.yclient import YClient
from websockets.asyncio.client import connect

from collab.events import NO_EVENTS

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: LiveServer, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of ``/metrics``, parsed by prometheus_client's own parser."""
    response = http.get(server.url + "/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def wait_for_metrics(
    server: LiveServer, holds: Callable[[Samples], bool], timeout_s: float = 10.0
) -> Samples:
    """Scrape until ``holds`` is true of what ``/metrics`` says."""
    deadline = time.monotonic() + timeout_s
    while True:
        samples = scrape(server)
        if holds(samples):
            return samples
        if time.monotonic() > deadline:
            raise TimeoutError(f"/metrics never showed what was expected: {samples}")
        await asyncio.sleep(0.02)


@pytest.mark.slow  # over 0.5 s alone: out of the inner loop
async def test_an_editing_session_moves_the_gauges_counters_and_histograms(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(room_grace_s=0.2).start()
    before = scrape(server)
    assert value(before, "collab_rooms_loaded") == 0
    assert value(before, "collab_connections", role="editor") == 0
    assert value(before, "collab_updates_committed_total") == 0
    note = server.post_note("start ")
    async with (
        YClient.connect(server.ws_url, note["id"]) as ana,
        YClient.connect(server.ws_url, note["id"]) as ben,
        YClient.connect(server.ws_url, note["view_id"]) as viewer,
    ):
        during = scrape(server)
        assert value(during, "collab_rooms_loaded") == 1
        assert value(during, "collab_connections", role="editor") == 2
        assert value(during, "collab_connections", role="viewer") == 1
        for char in "hello":  # one committed update each: the next waits for the ack
            ana.append(char)
            await ana.wait_saved()
        await ben.wait_text("start hello")
        await viewer.wait_text("start hello")
        edited = scrape(server)
    assert value(edited, "collab_updates_committed_total") == 5
    assert value(edited, "collab_write_batch_updates_count") == 5
    assert value(edited, "collab_write_batch_updates_sum") == 5
    assert value(edited, "collab_write_batch_updates_bucket", le="1.0") == 5
    assert value(edited, "collab_commit_seconds_count") == 5
    assert value(edited, "collab_broadcast_seconds_count") == 5
    assert value(edited, "collab_commit_seconds_bucket", le="+Inf") == 5
    commit_s = value(edited, "collab_commit_seconds_sum")
    assert 0 < commit_s < 5
    # each update is broadcast only after its commit
    assert value(edited, "collab_broadcast_seconds_sum") >= commit_s
    assert value(edited, "collab_storage_errors_total") == 0

    after = await wait_for_metrics(
        server,
        lambda m: (
            value(m, "collab_connections_closed_total", code="1000") == 3
            and value(m, "collab_rooms_loaded") == 0
        ),  # closed after its grace period
    )
    assert value(after, "collab_connections", role="editor") == 0
    assert value(after, "collab_connections", role="viewer") == 0
    assert value(after, "collab_connections_closed_total", code="4404") == 0
    async with connect(f"{server.ws_url}/no-such-note") as unknown:
        await unknown.wait_closed()
    await wait_for_metrics(
        server, lambda m: value(m, "collab_connections_closed_total", code="4404") == 1
    )


async def test_a_failed_write_counts_a_storage_error_and_a_1011_close(live: LiveServer) -> None:
    break_appends_holding(live.services.store, b"BOOM")
    token = live.post_note("safe ")["id"]
    async with YClient.connect(live.ws_url, token) as ana:
        ana.append("BOOM")
        assert await ana.wait_closed(10) == 1011
    samples = await wait_for_metrics(
        live, lambda m: value(m, "collab_connections_closed_total", code="1011") == 1
    )
    assert value(samples, "collab_storage_errors_total") == 1
    assert value(samples, "collab_updates_committed_total") == 0


def test_with_a_metrics_token_only_its_bearer_may_scrape(
    make_live: Callable[..., LiveServer],
) -> None:
    server = make_live(metrics_token="scrape-secret-1").start()
    for headers in (
        {},
        {"Authorization": "Bearer scrape-secret-2"},
        {"Authorization": "Bearer scrape-secret-"},
        {"Authorization": "Basic scrape-secret-1"},
        {"Authorization": "scrape-secret-1"},
    ):
        refused = http.get(server.url + "/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert "collab_" not in refused.text
    samples = scrape(server, {"Authorization": "Bearer scrape-secret-1"})
    assert value(samples, "collab_rooms_loaded") == 0


def test_without_a_token_metrics_answer_this_machine_only_and_are_gone_when_turned_off(
    make_live: Callable[..., LiveServer], tmp_path: Any
) -> None:
    server = make_live(host="0.0.0.0").start()  # as the image listens
    assert "collab_connections_closed_total" in http.get(server.url + "/metrics").text
    for forwarded in (
        {"X-Forwarded-For": "203.0.113.7"},  # uvicorn makes it the client: 127.0.0.1 is trusted
        {"X-Forwarded-For": "127.0.0.1"},  # a proxy passed it on, whatever it names
        {"Forwarded": "for=198.51.100.2"},
        {"X-Real-IP": "198.51.100.3"},
    ):
        refused = http.get(server.url + "/metrics", headers=forwarded)
        assert refused.status_code == 403, forwarded
        assert "COLLAB_METRICS_TOKEN" in refused.text
        assert "collab_" not in refused.text.replace("COLLAB_METRICS_TOKEN", "")
    off = make_live(db=tmp_path / "off.db", metrics=False).start()
    assert http.get(off.url + "/metrics").status_code == 404
    assert off.services.rooms.events is NO_EVENTS  # the keystroke path reports to nobody


def non_loopback_address() -> str | None:
    """An address of this machine on a non-loopback interface, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_without_a_token_a_client_on_another_interface_gets_403_and_with_one_it_scrapes(
    make_live: Callable[..., LiveServer], tmp_path: Any
) -> None:
    address = non_loopback_address()
    if address is None:
        if IN_CI:
            raise AssertionError("CI must have a non-loopback interface for this test")
        pytest.skip("this machine has no non-loopback IPv4 interface to connect from")
    server = make_live(host="0.0.0.0").start()
    refused = http.get(f"http://{address}:{server.settings.port}/metrics")
    assert refused.status_code == 403
    tokened = make_live(db=tmp_path / "t.db", host="0.0.0.0", metrics_token="scrape-3").start()
    scraped = http.get(
        f"http://{address}:{tokened.settings.port}/metrics",
        headers={"Authorization": "Bearer scrape-3"},
    )
    assert scraped.status_code == 200 and "collab_rooms_loaded" in scraped.text


async def test_two_servers_in_one_process_count_only_their_own(
    make_live: Callable[..., LiveServer], tmp_path: Any
) -> None:
    busy = make_live().start()
    quiet = make_live(db=tmp_path / "quiet.db").start()
    token = busy.post_note()["id"]
    async with YClient.connect(busy.ws_url, token) as ana:
        ana.append("x")
        await ana.wait_saved()
        assert value(scrape(busy), "collab_updates_committed_total") == 1
        assert value(scrape(busy), "collab_connections", role="editor") == 1
        assert value(scrape(quiet), "collab_updates_committed_total") == 0
        assert value(scrape(quiet), "collab_connections", role="editor") == 0
