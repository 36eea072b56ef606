"""Every option is documented, parsed from the environment, and checked."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from web import cli
from web.cli import build_parser, settings_from
from web.settings import Settings, check, env_name, options_table
from web.settings_load import InvalidSettings, load

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_option_is_in_the_readme_with_its_flag_variable_and_default(name: str) -> None:
    default = Settings.model_fields[name].default
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


def test_the_readmes_table_of_options_is_the_one_made_from_the_settings() -> None:
    spec = importlib.util.spec_from_file_location(
        "options_table", ROOT / "scripts/options_table.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    made = script.replace_table(README, options_table())
    assert made == README, "run .venv/bin/python scripts/options_table.py and commit README.md"


def test_environment_variables_set_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLAB_PORT", "9001")
    monkeypatch.setenv("COLLAB_DURABILITY", "normal")
    monkeypatch.setenv("COLLAB_WS_PER_MESSAGE_DEFLATE", "yes")
    settings = load()
    assert (settings.port, settings.durability, settings.ws_per_message_deflate) == (
        9001,
        "normal",
        True,
    )


def test_the_command_line_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLAB_PORT", "9001")
    args = build_parser().parse_args(["serve", "--port", "9002"])
    assert settings_from(args).port == 9002


def test_a_bad_flag_gets_one_line_naming_it_and_what_was_expected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["serve", "--port", "eighty"]) == cli.EXIT_USAGE
    assert (
        capsys.readouterr().err == "collab-notes: --port: expected a whole number, got 'eighty'\n"
    )


def test_each_bad_environment_value_gets_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLLAB_PORT", "eighty")
    monkeypatch.setenv("COLLAB_WS_PER_MESSAGE_DEFLATE", "maybe")
    assert cli.main(["serve"]) == cli.EXIT_USAGE
    assert capsys.readouterr().err == (
        "collab-notes: COLLAB_PORT: expected a whole number, got 'eighty'\n"
        "collab-notes: COLLAB_WS_PER_MESSAGE_DEFLATE: expected true or false, got 'maybe'\n"
    )


def test_every_bad_value_gets_its_line_naming_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLLAB_COMPACT_AFTER_IDLE_S", "soon")
    args = build_parser().parse_args(["serve", "--compact-after-updates=-3", "--port=70000"])
    with pytest.raises(InvalidSettings) as raised:
        settings_from(args)
    assert raised.value.problems == [
        "--port: expected less than 65536, got '70000'",
        "--compact-after-updates: expected 1 or more, got '-3'",
        "COLLAB_COMPACT_AFTER_IDLE_S: expected a number, got 'soon'",
    ]


def test_a_url_that_is_refused_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLLAB_REDIS_URL", "http://:secret@redis:6379")
    with pytest.raises(InvalidSettings) as raised:
        load()
    assert raised.value.problems == [
        "COLLAB_REDIS_URL: expected a URL starting with redis://, rediss:// or unix://"
    ]


def test_the_checkpoint_options_old_names_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    args = build_parser().parse_args(["serve", "--compact-after-updates", "7"])
    monkeypatch.setenv("COLLAB_COMPACT_AFTER_IDLE_S", "2.5")
    settings = settings_from(args)
    assert (settings.checkpoint_after_updates, settings.checkpoint_after_idle_s) == (7, 2.5)
    monkeypatch.setenv("COLLAB_CHECKPOINT_AFTER_IDLE_S", "4")  # the new name wins
    assert load().checkpoint_after_idle_s == 4.0


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
        with pytest.raises(InvalidSettings) as raised:
            load({"redis_prefix": prefix})
        assert raised.value.problems == [
            "--redis-prefix: expected 1 to 64 letters, digits, dots, dashes or underscores, "
            f"got {prefix!r}"
        ]
    assert load({"redis_prefix": "team-2.notes_b"}).redis_prefix == "team-2.notes_b"


def test_an_unknown_durability_is_refused() -> None:
    with pytest.raises(InvalidSettings) as raised:
        load({"durability": "sometimes"})
    assert raised.value.problems == ["--durability: expected one of full, normal, got 'sometimes'"]


def test_limits_that_would_refuse_everything_are_refused_at_startup() -> None:
    with pytest.raises(InvalidSettings) as raised:
        load({"request_head_timeout_s": 0, "max_request_body_bytes": -1})
    assert raised.value.problems == [
        "--request-head-timeout-s: expected more than 0, got 0",
        "--max-request-body-bytes: expected 0 or more, got -1",
    ]
