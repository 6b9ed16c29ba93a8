"""`crowdexports import users|projects|rewards|orders FILE`: the sync API's formats from JSON-lines files."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from crowdexports.cli.output import command_group, console, domain_errors, emit, progress_bar
from crowdexports.config import Settings
from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.errors import NotFound
from crowdexports.models import Project
from crowdexports.sync import jsonlines, records
from crowdexports.sync.orders import importer
from crowdexports.sync.orders.outcome import ImportRefused

imports = command_group("Import the platform's data from JSON-lines files.")

FILE_ARGUMENT = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                               help="JSON lines: each the PUT body plus its id. Blank lines are skipped.")
JSON_FLAG = typer.Option(False, "--json", help="Print one JSON object with what was imported.")


def _session() -> Session:
    return make_session_factory(make_engine(Settings().resolved_database_url))()


def _import_records(kind: str, upsert: jsonlines.Upsert, file: Path, as_json: bool) -> None:
    """One file, one transaction: every bad line is reported, and then nothing is written (exit 1)."""
    with domain_errors(), _session() as session, file.open("rb") as handle:
        with progress_bar(f"importing {kind}", jsonlines.count_lines(handle)) as update:
            outcome = jsonlines.import_lines(session, handle, upsert, update)
    summary = {"kind": kind, "lines": outcome.lines, "blank_lines": outcome.blank_lines, "created": outcome.created,
               "updated": outcome.updated, "unchanged": outcome.unchanged}
    if not outcome.bad_lines:
        emit(summary, as_json, f"{kind}: {outcome.created} created, {outcome.updated} updated, "
                               f"{outcome.unchanged} unchanged ({outcome.lines} lines)")
        return
    if as_json:
        errors = [{"classification": p.classification, "fieldNames": p.field_names, "message": p.message}
                  for p in outcome.problems]
        emit({**summary, "created": 0, "updated": 0, "unchanged": 0, "bad_lines": outcome.bad_lines,
              "errors": errors}, True, "")
        raise typer.Exit(1)
    for problem in outcome.problems:
        line, *names = problem.field_names
        where = f"{line}, {'.'.join(names)}" if names else line
        console.print(f"[red]error:[/red] {escape(where)}: {escape(problem.message)}")
    console.print(f"[red]nothing imported:[/red] {outcome.bad_lines} bad line(s) of {outcome.lines}")
    raise typer.Exit(1)


@imports.command("users")
def import_users(file: Path = FILE_ARGUMENT, as_json: bool = JSON_FLAG) -> None:
    """Upsert users (`PUT /v1/users/{id}` bodies with their id)."""
    _import_records("users", records.upsert_user, file, as_json)


@imports.command("projects")
def import_projects(file: Path = FILE_ARGUMENT, as_json: bool = JSON_FLAG) -> None:
    """Upsert projects (`PUT /v1/projects/{id}` bodies with their id); their owners must exist."""
    _import_records("projects", records.upsert_project, file, as_json)


@imports.command("rewards")
def import_rewards(file: Path = FILE_ARGUMENT, as_json: bool = JSON_FLAG) -> None:
    """Upsert rewards (`PUT /v1/rewards/{id}` bodies with their id); their projects must exist."""
    _import_records("rewards", records.upsert_reward, file, as_json)


ORDERS_FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                             help="JSON lines: one Ulule order resource per line. Blank lines are skipped.")


@imports.command("orders")
def import_orders(project: int = typer.Option(..., help="The project the orders belong to."),
                  file: Path = ORDERS_FILE, as_json: bool = JSON_FLAG) -> None:
    """Upsert a project's orders and their embedded users, streamed in one transaction: every bad line
    is reported, and then nothing is written (exit 1)."""
    with domain_errors(), _session() as session, file.open("rb") as handle:
        target = session.get(Project, project)
        if target is None:
            raise NotFound(f"project {project} does not exist")
        started = time.perf_counter()
        try:
            with progress_bar("importing orders", jsonlines.count_lines(handle)) as update:
                result = importer.import_orders(session, target, jsonlines.numbered_lines(handle), update)
        except ImportRefused as refused:
            errors = [{"classification": p.classification, "fieldNames": p.field_names, "message": p.message}
                      for p in refused.problems]
            if as_json:
                emit({"kind": "orders", "project_id": project, "lines": refused.lines,
                      "bad_lines": refused.bad_lines, "errors": errors}, True, "")
            for problem in refused.problems:
                line, *names = problem.field_names or ["the file"]
                where = f"{line}, {'.'.join(names)}" if names else line
                console.print(f"[red]error:[/red] {escape(where)}: {escape(problem.message)}")
            console.print(f"[red]nothing imported:[/red] {refused.bad_lines} bad line(s) of {refused.lines}")
            raise typer.Exit(1) from None
    seconds = time.perf_counter() - started
    rate = result.lines / seconds if seconds else 0.0
    emit({"kind": "orders", "project_id": project, **result.as_dict(), "seconds": round(seconds, 2),
          "lines_per_second": round(rate)}, as_json,
         f"orders: {result.orders_created} created, {result.orders_updated} updated, {result.orders_unchanged} "
         f"unchanged; users: {result.users_created} created, {result.users_updated} updated, "
         f"{result.users_unchanged} unchanged ({result.lines} lines in {seconds:.1f}s, {rate:,.0f} lines/s)")
