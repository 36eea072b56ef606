"""Every option is documented, parsed from the environment, and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from web.cli import build_parser, settings_from
from web.settings import Settings, check, describe, env_name, from_env

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", [name for name, *_ in describe()])
def test_every_option_is_in_the_readme_with_its_flag_variable_and_default(name: str) -> None:
    default = getattr(Settings(), name)
    row = next(
        (
            line
            for line in README.splitlines()
            if line.startswith(f"| `--{name.replace('_', '-')}` |")
        ),
        None,
    )
    assert row is not None, f"README has no row for --{name.replace('_', '-')}"
    assert f"`{env_name(name)}`" in row
    assert (f"`{default}`" if default != "" else "(empty)") in row


def test_environment_variables_set_options() -> None:
    settings = from_env(
        {
            "COLLAB_PORT": "9001",
            "COLLAB_DURABILITY": "normal",
            "COLLAB_WS_PER_MESSAGE_DEFLATE": "yes",
        }
    )
    assert (settings.port, settings.durability, settings.ws_per_message_deflate) == (
        9001,
        "normal",
        True,
    )


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="port: expected int"):
        from_env({"COLLAB_PORT": "eighty"})


def test_the_command_line_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLAB_PORT", "9001")
    args = build_parser().parse_args(["serve", "--port", "9002"])
    assert settings_from(args).port == 9002


def test_several_workers_without_redis_are_refused_with_the_reason() -> None:
    [problem] = check(Settings(workers=3))
    assert "needs --redis-url" in problem and "split" in problem


def test_redis_with_sqlite_is_refused_with_the_reason() -> None:
    [problem] = check(Settings(workers=2, redis_url="redis://localhost:6379/0"))
    assert "needs PostgreSQL" in problem


def test_several_workers_with_postgres_and_redis_are_accepted() -> None:
    settings = Settings(
        workers=4,
        database_url="postgresql+psycopg://collab@localhost/notes",
        redis_url="redis://localhost:6379/0",
    )
    assert check(settings) == []


def test_a_redis_prefix_that_is_not_a_plain_name_is_refused() -> None:
    for prefix in ("", "two words", "a:b", "x" * 65):
        assert check(Settings(redis_prefix=prefix)) == [
            "--redis-prefix must be 1 to 64 letters, digits, dots, dashes or underscores"
        ]
    assert check(Settings(redis_prefix="team-2.notes_b")) == []


def test_an_unknown_durability_is_refused() -> None:
    assert check(Settings(durability="sometimes")) == ["--durability must be one of full, normal"]


def test_limits_that_would_refuse_everything_are_refused_at_startup() -> None:
    problems = check(Settings(request_head_timeout_s=0, max_request_body_bytes=-1))
    assert problems == [
        "--request-head-timeout-s must be more than 0",
        "--max-request-body-bytes must be 0 or more",
    ]
