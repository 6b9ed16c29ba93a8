"""How commands speak: one JSON object with --json, a short human text otherwise; errors in one style."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from crowdexports.errors import CrowdexportsError

console = Console(stderr=True)


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
