"""What a new user meets first: help that shows flags as flags, one line for a bad setting or a busy port,
`migrate` saying what it made, and links that follow the port `serve` listens on."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every command under `group` with its path (typer 0.29 builds them on its own copy of click)."""
    found: list[tuple[tuple[str, ...], object]] = [(path, group)]
    for name, command in getattr(group, "commands", {}).items():
        found += _commands(command, (*path, name))
    return found


def test_every_bool_option_is_a_flag_and_its_help_shows_no_value() -> None:
    runner = CliRunner()
    commands = _commands(typer.main.get_command(app))
    assert len(commands) > 20
    bool_options = 0
    for path, command in commands:
        for param in getattr(command, "params", []):
            if isinstance(param, typer.core.TyperOption) and param.type_descriptor.annotation is bool:
                bool_options += 1
                assert param.is_flag, (path, param.name)
        shown = runner.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, (path, shown.output)
        assert "<bool>" not in shown.output and "BOOLEAN" not in shown.output, (path, shown.output)
    assert bool_options >= 5  # --json on every creating command, --staff...


def test_a_bad_setting_is_one_line_naming_it_and_exit_code_2(tmp_path: Path) -> None:
    result = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(tmp_path), "CROWDEXPORTS_FILE_TTL_DAYS": "0"}).invoke(
        app, ["migrate"])
    assert result.exit_code == 2
    assert result.output.strip() == "CROWDEXPORTS_FILE_TTL_DAYS: Input should be greater than or equal to 1"
    weak = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(tmp_path), "CROWDEXPORTS_SECRET_KEY": "dev"}).invoke(
        app, ["demo"])
    assert (weak.exit_code, weak.output.strip()) == (
        2, "CROWDEXPORTS_SECRET_KEY: must be at least 16 characters and not a placeholder")


def test_migrate_says_what_it_created_then_that_nothing_was_left(tmp_path: Path) -> None:
    cli = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(tmp_path),
                         "CROWDEXPORTS_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"})
    first = cli.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"created the schema in sqlite:///{tmp_path / 'new.db'}, ")
    assert "initial_schema" in first.output
    again = cli.invoke(app, ["migrate"])
    assert again.output.startswith("database is up to date (revision ")


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(tmp_path)}).invoke(
            app, ["serve", "--port", str(port), "--workers", "1"])
    assert result.exit_code == 1
    assert result.output.strip() == (f"cannot listen on 127.0.0.1:{port}: port {port} is in use: choose another "
                                     f"with --port (make run PORT={port + 1})")


@pytest.mark.parametrize(("host", "url"), [("127.0.0.1", "http://127.0.0.1:8011"), ("0.0.0.0", "http://127.0.0.1:8011"),
                                           ("::1", "http://[::1]:8011"), ("exports.local", "http://exports.local:8011")])
def test_links_follow_the_port_served_on(host: str, url: str) -> None:
    assert Settings(_env_file=None).serving_on(host, 8011).public_url == url


def test_a_public_url_that_is_set_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROWDEXPORTS_PUBLIC_URL", "https://exports.example.com")
    assert Settings(_env_file=None).serving_on("127.0.0.1", 8011).public_url == (
        "https://exports.example.com")


def test_demo_prints_curl_lines_for_the_base_url_given(settings: Settings) -> None:
    cli = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                         "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef",
                         "CROWDEXPORTS_DATABASE_URL": settings.resolved_database_url})
    result = cli.invoke(app, ["demo", "--orders", "1", "--base-url", "http://127.0.0.1:8011/", "--json"])
    assert result.exit_code == 0, result.output
    demo = json.loads(result.stdout.strip().splitlines()[-1])
    assert " http://127.0.0.1:8011/oauth2/token/" in demo["token_curl"]
    assert " http://127.0.0.1:8011/v1/projects/" in demo["curl"]
