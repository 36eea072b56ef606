"""deploy/compose.yaml: a compose implementation reads it, and it names only what exists.

No container runs on our machines, so the stack is never started here.
``podman-compose config`` (a test dependency; it needs Debian's podman, which
scripts/test installs) resolves it as a compose implementation would: variables,
the YAML merge of the second collab-notes service, the build context. The rest
is read against the code: every collab-notes variable is an option and the
settings pass the server's own start-up check, every service, network and volume
it references exists, and nginx gets the shipped deploy/nginx.conf with only its
upstream servers replaced.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.ci import IN_CI

from web.settings import Settings, check, env_names
from web.settings_load import load

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
SERVICES = {"postgres", "redis", "notes-a", "notes-b", "nginx"}


def podman_compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if shutil.which("podman") is None:
        if IN_CI:
            pytest.fail("podman is missing: scripts/test installs it")
        pytest.skip("podman-compose needs Debian's podman, not installed here")
    program = Path(sys.executable).parent / "podman-compose"
    return subprocess.run(
        [str(program), "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as podman-compose resolves it (``config``), with a password set."""
    result = podman_compose("config", env={"POSTGRES_PASSWORD": "s3cret"})
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


def notes_services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from the repository's Dockerfile."""
    return {name: s for name, s in config["services"].items() if "build" in s}


def test_podman_compose_resolves_two_servers_postgres_redis_and_nginx(
    resolved: dict[str, Any],
) -> None:
    assert set(resolved["services"]) == SERVICES
    notes = notes_services(resolved)
    assert set(notes) == {"notes-a", "notes-b"}
    for service in notes.values():
        assert Path(service["build"]["context"]).resolve() == ROOT
        assert (ROOT / service["build"].get("dockerfile", "Dockerfile")).exists()
    a, b = notes["notes-a"], notes["notes-b"]
    assert a["environment"] == b["environment"]  # the merge carried everything over
    assert "s3cret@postgres:5432/" in a["environment"]["COLLAB_DATABASE_URL"]


def test_without_a_database_password_it_refuses_to_start() -> None:
    env = {key: value for key, value in os.environ.items() if key != "POSTGRES_PASSWORD"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "podman-compose"), "-f", str(COMPOSE), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    if shutil.which("podman") is None and not IN_CI:
        pytest.skip("podman-compose needs Debian's podman, not installed here")
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD" in result.stderr


def test_its_collab_notes_settings_are_options_that_pass_the_start_up_check(
    resolved: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    known = {env for name in Settings.model_fields for env in env_names(name)}
    for name, service in notes_services(resolved).items():
        environment: dict[str, str] = service["environment"]
        collab = {key: value for key, value in environment.items() if key.startswith("COLLAB_")}
        assert set(collab) <= known, f"{name}: {set(collab) - known} are no options"
        assert collab["COLLAB_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert collab["COLLAB_REDIS_URL"].startswith("redis://redis:")
        with monkeypatch.context() as env:
            for key, value in collab.items():
                env.setenv(key, value)
            assert check(load()) == [], name
        assert "command" not in service  # the image's own: collab-notes serve


def test_only_nginx_may_say_who_the_client_is(resolved: dict[str, Any]) -> None:
    nginx = resolved["services"]["nginx"]["networks"]["backend"]["ipv4_address"]
    [subnet] = resolved["networks"]["backend"]["ipam"]["config"]
    assert ipaddress.ip_address(nginx) in ipaddress.ip_network(subnet["subnet"])
    for service in notes_services(resolved).values():
        assert service["environment"]["FORWARDED_ALLOW_IPS"] == nginx
        assert "backend" in service["networks"]


def test_everything_it_references_exists() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    services = raw["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on {dependency}"
        networks = service.get("networks", [])
        assert set(networks) <= set(raw["networks"]), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in raw["volumes"], f"{name}: {source}"


def test_nginx_runs_the_shipped_file_with_only_its_upstream_replaced() -> None:
    raw = yaml.safe_load(COMPOSE.read_text())
    nginx = raw["services"]["nginx"]
    assert "./nginx.conf:/srv/collab-notes.conf:ro" in nginx["volumes"]
    script = nginx["command"][-1]
    edits = re.findall(r"-e 's/([^/]*)/([^/]*)/'", script)
    assert edits, script
    shipped = NGINX_CONF.read_text()
    served = shipped
    for pattern, replacement in edits:
        assert pattern in shipped, f"{pattern!r} is not in deploy/nginx.conf"
        served = served.replace(pattern, replacement)
    upstream = re.search(r"^upstream collab_notes \{\n(.*?)^\}", served, re.M | re.S)
    assert upstream is not None
    targets = re.findall(r"^\s*server\s+(\S+)", upstream.group(1), re.M)
    assert targets == ["notes-a:8000", "notes-b:8000"]  # both services, on the image's port
    assert "COLLAB_PORT=8000" in (ROOT / "Dockerfile").read_text()
    assert "/srv/collab-notes.conf > /etc/nginx/conf.d/default.conf" in script
