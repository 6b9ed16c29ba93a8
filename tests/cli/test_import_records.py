"""`crowdexports import users|projects|rewards FILE`: JSON lines of the PUT bodies with their ids, one
transaction per file, every bad line reported by number (SPEC §7). Runs the real CLI in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import Project, Reward, User
from crowdexports.sync import jsonlines, records
from tests.api.syncing import snapshot
from tests.conftest import stack_env


@pytest.fixture
def cli(settings: Settings) -> CliRunner:
    runner = CliRunner(env={"CROWDEXPORTS_DATA_DIR": str(settings.data_dir),
                            "CROWDEXPORTS_SECRET_KEY": "test-secret-key-0123456789abcdef", **stack_env(settings)})
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return runner


@pytest.fixture
def sessions(settings: Settings, cli: CliRunner) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.resolved_database_url))


def write(path: Path, *lines: object) -> Path:
    """A JSON-lines file; str lines are written as they are, other values as JSON."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return path


def run(cli: CliRunner, kind: str, file: Path, exit_code: int = 0) -> dict[str, Any]:
    result = cli.invoke(app, ["import", kind, str(file), "--json"])
    assert result.exit_code == exit_code, result.output
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def users(*ids: int) -> list[dict[str, object]]:
    return [{"id": n, "username": f"user{n}", "email": f"user{n}@example.com", "lang": "fr"} for n in ids]


def test_users_projects_and_rewards_are_imported_then_reimported_unchanged(
        cli: CliRunner, tmp_path: Path, sessions: sessionmaker[Session]) -> None:
    users_file = write(tmp_path / "users.jsonl", *users(11, 12),
                       {"id": 13, "username": "root", "email": "root@example.com", "is_staff": True,
                        "password": "s3cret pass"})
    projects_file = write(tmp_path / "projects.jsonl",
                          {"id": 21, "owner_id": 11, "name": "Kettle", "currency": "EUR"},
                          {"id": 22, "owner_id": 12, "name": "Spoon", "currency": "JPY", "timezone": "Asia/Tokyo"})
    rewards_file = write(tmp_path / "rewards.jsonl",
                         '{"id": 31, "project_id": 21, "title": {"en": "Early"}, "price": 12.5}',
                         {"id": 32, "project_id": 21, "price": "0.10"},
                         '{"id": 33, "project_id": 22, "price": 1500}')
    for kind, file, count in (("users", users_file, 3), ("projects", projects_file, 2),
                              ("rewards", rewards_file, 3)):
        assert run(cli, kind, file) == {"kind": kind, "lines": count, "blank_lines": 0, "created": count,
                                        "updated": 0, "unchanged": 0}
    with sessions() as session:
        assert session.get_one(User, 13).is_staff and session.get_one(User, 13).password_hash
        assert session.get_one(Project, 22).owner_id == 12 and session.get_one(Project, 22).currency == "JPY"
        assert [session.get_one(Reward, n).price for n in (31, 32, 33)] == [1250, 10, 1500]
        assert session.get_one(Reward, 31).title == {"en": "Early"}
    stored = snapshot(sessions)
    for kind, file, count in (("users", users_file, 3), ("projects", projects_file, 2),
                              ("rewards", rewards_file, 3)):
        assert run(cli, kind, file) == {"kind": kind, "lines": count, "blank_lines": 0, "created": 0,
                                        "updated": 0, "unchanged": count}
    assert snapshot(sessions) == stored
    changed = write(tmp_path / "changed.jsonl", {**users(11)[0], "email": "new11@example.com"}, *users(12))
    assert run(cli, "users", changed) == {"kind": "users", "lines": 2, "blank_lines": 0, "created": 0, "updated": 1,
                                          "unchanged": 1}
    repriced = write(tmp_path / "repriced.jsonl", {"id": 32, "project_id": 21, "price": "0.20"})
    assert run(cli, "rewards", repriced)["updated"] == 1


def test_blank_lines_crlf_and_a_byte_order_mark_are_fine(cli: CliRunner, tmp_path: Path,
                                                         sessions: sessionmaker[Session]) -> None:
    file = tmp_path / "users.jsonl"
    lines = [json.dumps(body) for body in users(1, 2)]
    file.write_bytes(b"\xef\xbb\xbf" + f"{lines[0]}\r\n\r\n   \n\t\r\n{lines[1]}".encode())  # no final newline
    result = cli.invoke(app, ["import", "users", str(file)])
    assert result.exit_code == 0, result.output
    assert "users: 2 created, 0 updated, 0 unchanged (5 lines)" in result.stdout
    assert "importing users" in result.output and "5/5" in result.output  # the bar counts the lines too
    assert run(cli, "users", file) == {"kind": "users", "lines": 5, "blank_lines": 3, "created": 0, "updated": 0,
                                       "unchanged": 2}
    with sessions() as session:
        assert session.query(User).count() == 2
    empty = write(tmp_path / "empty.jsonl")
    assert run(cli, "users", empty) == {"kind": "users", "lines": 0, "blank_lines": 0, "created": 0, "updated": 0,
                                        "unchanged": 0}


def test_every_bad_line_is_reported_by_number_and_nothing_is_written(cli: CliRunner, tmp_path: Path,
                                                                      sessions: sessionmaker[Session]) -> None:
    run(cli, "users", write(tmp_path / "first.jsonl", *users(1)))
    before = snapshot(sessions)
    file = write(tmp_path / "users.jsonl",
                 *users(2),                                                       # 1: fine, yet not written
                 {"id": 3, "username": "u3", "email": "nope"},                    # 2
                 "",                                                              # 3: blank, skipped
                 "{not json",                                                     # 4
                 {"username": "u5", "email": "u5@example.com"},                   # 5: no id
                 '[{"id": 6}]',                                                   # 6
                 {"id": "7", "username": "u7", "email": "u7@example.com"},        # 7
                 {"id": 8, "username": "user1", "email": "u8@example.com"},       # 8: user 1's username
                 {"id": 9, "username": "u9", "email": "u9@example.com", "age": 3},  # 9
                 {"id": 10, "username": "user2", "email": "x@example.com"},       # 10: line 1's username
                 '{"id": 11, "username": "u11", "email": "u11@example.com", "is_staff": NaN}',  # 11
                 *users(1))                                                       # 12: fine (an update)
    report = run(cli, "users", file, exit_code=1)
    assert (report["lines"], report["blank_lines"], report["bad_lines"], report["created"], report["updated"]) == (
        12, 1, 9, 0, 0)
    assert [(error["classification"], error["fieldNames"]) for error in report["errors"]] == [
        ("ValueError", ["line 2", "email"]),
        ("DeserializationError", ["line 4"]),
        ("RequiredError", ["line 5", "id"]),
        ("DeserializationError", ["line 6"]),
        ("TypeError", ["line 7", "id"]),
        ("ValueError", ["line 8", "username"]),
        ("UnknownFieldError", ["line 9", "age"]),
        ("ValueError", ["line 10", "username"]),
        ("DeserializationError", ["line 11"]),
    ]
    assert snapshot(sessions) == before
    human = cli.invoke(app, ["import", "users", str(file)])
    assert human.exit_code == 1 and "Traceback" not in human.output
    assert "line 2, email: must be an email address" in human.output
    assert "nothing imported" in human.output and "9 bad line(s) of 12" in human.output


def test_amounts_are_exact_and_checked_per_line(cli: CliRunner, tmp_path: Path,
                                                sessions: sessionmaker[Session]) -> None:
    run(cli, "users", write(tmp_path / "u.jsonl", *users(1)))
    run(cli, "projects", write(tmp_path / "p.jsonl", {"id": 5, "owner_id": 1, "name": "Yen", "currency": "JPY"},
                               {"id": 6, "owner_id": 1, "name": "Dinar", "currency": "KWD"}))
    bad = write(tmp_path / "bad.jsonl", '{"id": 1, "project_id": 5, "price": 12.5}',
                '{"id": 2, "project_id": 6, "price": "1.2345"}', '{"id": 3, "project_id": 99, "price": 1}',
                '{"id": 4, "project_id": 6, "price": 1e999999999}')
    report = run(cli, "rewards", bad, exit_code=1)
    assert [error["fieldNames"] for error in report["errors"]] == [
        ["line 1", "price"], ["line 2", "price"], ["line 3", "project_id"], ["line 4", "price"]]
    assert "JPY" in report["errors"][0]["message"] and "KWD" in report["errors"][1]["message"]
    good = write(tmp_path / "good.jsonl", '{"id": 1, "project_id": 5, "price": 1500}',
                 '{"id": 2, "project_id": 6, "price": 12345678901234.567}',
                 '{"id": 3, "project_id": 6, "price": "0.001"}')
    assert run(cli, "rewards", good)["created"] == 3
    with sessions() as session:
        assert [session.get_one(Reward, n).price for n in (1, 2, 3)] == [1500, 12345678901234567, 1]


def test_a_line_too_long_is_reported_without_being_held(cli: CliRunner, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlines, "MAX_LINE_BYTES", 100)
    long_line = json.dumps({**users(2)[0], "first_name": "x" * 1000})
    report = run(cli, "users", write(tmp_path / "u.jsonl", *users(1), long_line, *users(3)), exit_code=1)
    assert [(e["classification"], e["fieldNames"]) for e in report["errors"]] == [("DeserializationError", ["line 2"])]
    assert report["lines"] == 3


def test_the_session_is_emptied_as_lines_go(settings: Settings, cli: CliRunner, tmp_path: Path,
                                            sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat: the rows already written are dropped from the session as the file is read."""
    monkeypatch.setattr(jsonlines, "EXPUNGE_EVERY", 50)
    file = write(tmp_path / "u.jsonl", *users(*range(1, 401)))
    held: list[int] = []
    with sessions() as session, file.open("rb") as handle:
        outcome = jsonlines.import_lines(session, handle, records.upsert_user,
                                         lambda done: held.append(len(session.identity_map)))
    assert (outcome.created, outcome.bad_lines) == (400, 0)
    assert len(held) == 9 and max(held) <= 50
    with sessions() as session:
        assert session.query(User).count() == 400


def test_errors_reported_are_capped_but_bad_lines_all_counted(cli: CliRunner, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlines, "MAX_PROBLEMS", 3)
    report = run(cli, "users", write(tmp_path / "u.jsonl", *(["[]"] * 10)), exit_code=1)
    assert len(report["errors"]) == 3 and report["bad_lines"] == 10


def test_a_missing_file_is_a_usage_error(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["import", "projects", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "Traceback" not in result.output
