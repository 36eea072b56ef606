"""docs/deploy.md: its figures are the code's, and every deploy file says how it was checked.

An operator sizes PostgreSQL and reads the failure timings from that page, so
a change to the pool, the fan-out's timings or the files in ``deploy/`` must
change the page too.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import yaml

from cluster.redis_fanout import MAX_CARRIED_BYTES, RedisFanout
from storage.db import POOL_OVERFLOW, POOL_SIZE
from web.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "deploy.md").read_text()
PROSE = " ".join(DOC.split())  # line breaks as spaces, for phrases that wrap
PER_PROCESS = POOL_SIZE + POOL_OVERFLOW


def fanout_default(name: str) -> float:
    default = inspect.signature(RedisFanout.__init__).parameters[name].default
    assert isinstance(default, float)
    return default


def test_every_deploy_file_has_a_row_naming_tests_that_exist() -> None:
    shipped = sorted(path.name for path in (ROOT / "deploy").iterdir())
    assert shipped
    for name in shipped:
        row = next(
            (line for line in DOC.splitlines() if line.startswith(f"| `deploy/{name}` |")), ""
        )
        assert row, f"docs/deploy.md does not say how deploy/{name} was checked"
        tests = re.findall(r"`(tests/[\w/]+\.py)`", row.split("|")[2])
        assert tests, row
        for test in tests:
            assert (ROOT / test).exists(), f"{test}, named for deploy/{name}, does not exist"


def test_the_connections_it_says_to_allow_are_the_pools() -> None:
    assert f"up to {POOL_SIZE} connections open" in PROSE
    assert f"up to {POOL_OVERFLOW} more under load" in PROSE
    assert f"Allow {PER_PROCESS} per process" in PROSE


def test_compose_gives_postgres_room_for_every_process_pool_and_an_administrator() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    processes = sum(1 for service in services.values() if "build" in service)
    [setting] = [arg for arg in services["postgres"]["command"] if "max_connections=" in arg]
    max_connections = int(setting.split("=")[1])
    assert max_connections > processes * PER_PROCESS
    assert f"`max_connections={max_connections}` for two processes" in PROSE
    assert processes == 2


def test_the_fan_out_figures_are_the_codes() -> None:
    assert f"over {MAX_CARRIED_BYTES // 1024} KB" in PROSE
    assert fanout_default("head_check_s") == 1.0
    assert "Every second, each process reads the log heads" in PROSE
    ttl = fanout_default("alive_ttl_s")
    assert f"expiring after {ttl:g} seconds" in PROSE
    # Renewed every fifth of its life; noticed at the next check after expiry.
    assert PROSE.count(f"within about {ttl + ttl / 5:g} seconds") == 2


def test_the_per_process_limits_are_options() -> None:
    section = DOC.split("## Limits that count per process", 1)[1].split("\n## ", 1)[0]
    flags = re.findall(r"^\| `--([a-z-]+)` \|", section, re.M)
    assert len(flags) >= 4
    options = {name.replace("_", "-") for name in Settings.model_fields}
    assert set(flags) <= options
