"""`crowdexports import users|projects|rewards|orders FILE`: the sync API's formats from JSON-lines files."""

from __future__ import annotations

import typer

imports = typer.Typer(help="Import the platform's data from JSON-lines files (SPEC §7).", no_args_is_help=True)
