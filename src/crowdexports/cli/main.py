"""The `crowdexports` command: serving and running (here) and data commands (cli/commands.py)."""

from __future__ import annotations

import typer

from crowdexports import logs
from crowdexports import migrate as migrations
from crowdexports.bootstrap import build_service
from crowdexports.cli import commands
from crowdexports.config import Settings
from crowdexports.worker.consumer import Worker

app = typer.Typer(help="Exports of a crowdfunding project's orders, made by workers and emailed.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
commands.register(app)


def _settings_with_logging() -> Settings:
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    settings = Settings()
    migrations.upgrade(settings.resolved_database_url)
    typer.echo(f"database is up to date: {settings.resolved_database_url}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    no_worker: bool = typer.Option(False, "--no-worker", help="API only (scale-out: run `worker` apart)."),
    concurrency: int = typer.Option(2, min=1, help="Export threads of the in-process worker."),
) -> None:
    """Serve the HTTP API, with a worker in the same process unless --no-worker."""
    import uvicorn

    from crowdexports.api.app import create_app

    service = build_service(_settings_with_logging())
    in_process = None if no_worker else Worker(service, concurrency)
    if in_process is not None:
        in_process.start()
    try:
        uvicorn.run(create_app(service.runtime), host=host, port=port, log_config=None)
    finally:
        if in_process is not None:
            in_process.stop()


@app.command()
def worker(concurrency: int = typer.Option(2, min=1, help="Exports made at the same time.")) -> None:
    """Run a worker alone: takes exports from the queue, and sweeps for lost or stalled ones."""
    Worker(build_service(_settings_with_logging()), concurrency).run()
