"""How commands speak: one JSON object with --json, a short human text otherwise; errors in one style."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crowdexports.config import ENV_PREFIX, Settings
from crowdexports.errors import CrowdexportsError

console = Console(stderr=True)
DEFAULT_TYPE = "orders"  # the export type of a command given none (nor a preset)


def command_group(help_text: str) -> typer.Typer:
    """A group of commands with plain help: Typer's rich help shows every flag as `--json <bool>`, as if it
    took a value."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


def emit(data: dict[str, Any], as_json: bool, human: str) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str) if as_json else human)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn a domain error into a one-line message and exit code 1, instead of a traceback."""
    try:
        yield
    except CrowdexportsError as exc:
        console.print(f"[red]error:[/red] {exc or type(exc).__name__}")
        raise typer.Exit(1) from None


def check_settings() -> None:
    """A bad setting is one line naming its variable and the rule, and exit code 2, not a traceback."""
    try:
        Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = ENV_PREFIX + "_".join(str(part) for part in error["loc"]).upper()
            rule = error["msg"].removeprefix("Value error, ")
            console.print(f"{name}: {rule}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich bar on stderr; yields `update(completed)`, safe to call from any thread."""
    lock = threading.Lock()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)

        def update(completed: int) -> None:
            with lock:
                bar.update(task, completed=completed)

        yield update
