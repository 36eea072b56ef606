"""deploy/nginx.conf: nginx accepts it, and collab-notes behind it sees each client.

The scaleout tests run the same file with several processes behind it
(tests/scaleout/test_outages.py); these check what an operator relies on with
one: the websocket upgrade, a browser's Origin against the Host passed on, and
which address the per-address limits count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support.ci import IN_CI
from support.server import ServerProcess
from support.services import DEPLOY_NGINX, Nginx, shipped_nginx_conf
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from collab import protocol


@pytest.fixture(autouse=True)
def _needs_nginx() -> None:
    if shutil.which("nginx") is None and not os.path.exists("/usr/sbin/nginx") and not IN_CI:
        pytest.skip("nginx is not installed here; scripts/test installs it")


def nginx_t(folder: Path, include: str) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on a main file that includes ``include``, in a prefix of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "collab-notes.conf").write_text(include)
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {folder}/collab-notes.conf; }}\n"
    )
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.run(
        [binary, "-t", "-p", str(folder), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_nginx_accepts_the_shipped_file_as_it_is(tmp_path: Path) -> None:
    result = nginx_t(tmp_path, DEPLOY_NGINX.read_text())
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_tests_change_only_the_listen_and_upstream_lines() -> None:
    shipped = DEPLOY_NGINX.read_text().splitlines()
    tested = shipped_nginx_conf(4321, [5001, 5002, 5003]).splitlines()
    removed = [line.strip() for line in shipped if line not in tested]
    added = [line.strip() for line in tested if line not in shipped]
    assert removed == [
        "server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;",
        "server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;",
        "listen 80;",
    ]
    assert added == [
        *(f"server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;" for port in (5001, 5002, 5003)),
        "listen 127.0.0.1:4321;",
    ]


def test_the_harness_refuses_a_file_it_cannot_fit(tmp_path: Path) -> None:
    changed = tmp_path / "nginx.conf"
    changed.write_text(DEPLOY_NGINX.read_text().replace("upstream collab_notes", "upstream x"))
    with pytest.raises(RuntimeError, match="upstream collab_notes"):
        shipped_nginx_conf(4321, [5001], changed)


async def is_open(ws: ClientConnection) -> bool:
    """Whether the server answers on ``ws`` (a query-awareness is always answered)."""
    try:
        # A refusal can arrive before the query leaves: then sending raises too.
        await ws.send(protocol.encode_query_awareness())
        await ws.recv()
    except ConnectionClosed:
        await ws.wait_closed()
        return False
    return True


def via(proxy: Nginx, token: str, source: str) -> connect:
    """A websocket through ``proxy`` from the loopback address ``source``, as a browser."""
    return connect(
        f"{proxy.ws_url}/{token}",
        additional_headers={"Origin": proxy.url},
        local_addr=(source, 0),
    )


async def test_behind_the_shipped_nginx_the_limits_count_each_client_address(
    tmp_path: Path,
) -> None:
    server = ServerProcess(
        tmp_path / "notes.db", tmp_path, "--max-connections-per-address", "1"
    ).start()
    proxy = Nginx(tmp_path / "nginx", [server.port]).start()
    try:
        token = server.post_note()["id"]
        # The page's Origin names the proxy's host and port: accepted, so the Host
        # passed on kept the port. Two addresses hold one connection each.
        async with via(proxy, token, "127.0.0.2") as first, via(proxy, token, "127.0.0.3") as other:
            assert await is_open(first)
            assert await is_open(other)
            async with via(proxy, token, "127.0.0.2") as second:
                assert not await is_open(second)
                assert second.close_code == 4429
    finally:
        proxy.stop()
        server.stop()


async def test_behind_an_untrusted_proxy_every_client_shares_its_address(
    tmp_path: Path,
) -> None:
    # As when nginx runs on another host or container and FORWARDED_ALLOW_IPS does
    # not name it: X-Forwarded-For is ignored and the proxy's address is counted.
    server = ServerProcess(
        tmp_path / "notes.db",
        tmp_path,
        "--max-connections-per-address",
        "1",
        env={"FORWARDED_ALLOW_IPS": "192.0.2.1"},
    ).start()
    proxy = Nginx(tmp_path / "nginx", [server.port]).start()
    try:
        token = server.post_note()["id"]
        async with via(proxy, token, "127.0.0.2") as first:
            assert await is_open(first)
            async with via(proxy, token, "127.0.0.3") as other:
                assert not await is_open(other)
                assert other.close_code == 4429
    finally:
        proxy.stop()
        server.stop()
