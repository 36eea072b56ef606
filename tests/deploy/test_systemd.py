"""deploy/collab-notes.service: systemd accepts it, and it restarts what a restart can fix.

No systemd runs as PID 1 on our machines, so the unit is never started here:
``systemd-analyze verify`` parses it as systemd would (every key and value, the
command executable), and the rest is read against the code it describes.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.ci import IN_CI

from web import cli, workers
from web.settings import Settings, env_names

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "collab-notes.service"
INSTALLED_AT = "/opt/collab-notes/bin/collab-notes"


def unit() -> dict[str, dict[str, list[str]]]:
    """Sections, each key's values in order (systemd allows a key more than once)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if IN_CI:
            pytest.fail("systemd-analyze is missing: scripts/test installs Debian's systemd")
        pytest.skip("systemd-analyze is not installed here; scripts/test installs it")
    # The same unit, its command pointed at this checkout's installed script.
    here = Path(sys.executable).parent / "collab-notes"
    assert here.exists(), here
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace(INSTALLED_AT, str(here)))
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 after an unknown key or a bad value too: only silence is a pass.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_it_restarts_after_a_fatal_stop_but_not_after_what_a_restart_cannot_fix() -> None:
    service = unit()["Service"]
    assert service["Restart"] == ["on-failure"]
    prevented = {
        int(code) for value in service["RestartPreventExitStatus"] for code in value.split()
    }
    assert prevented == {cli.EXIT_USAGE, cli.EXIT_DATABASE_UNUSABLE} == workers.FINAL_EXIT_CODES
    assert cli.EXIT_FATAL not in prevented
    assert cli.EXIT_STARTUP_FAILED not in prevented
    # A stop is a success (exit 0), so on-failure never restarts a deliberate stop.
    assert "SuccessExitStatus" not in service


def test_its_command_and_variables_are_the_servers() -> None:
    service = unit()["Service"]
    [command] = service["ExecStart"]
    program, *args = shlex.split(command)
    assert program == INSTALLED_AT
    cli.build_parser().parse_args(args)  # exits (SystemExit) on an unknown flag
    known = {env for name in Settings.model_fields for env in env_names(name)}
    for value in service.get("Environment", []):
        name = value.partition("=")[0]
        assert name in known, f"{name} is no option of collab-notes serve"
    for named in re.findall(r"COLLAB_[A-Z][A-Z_]*", UNIT.read_text()):  # the comments' too
        assert named in known, f"{named} is no option of collab-notes serve"
