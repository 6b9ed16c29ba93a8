"""The `crowdexports` command: serving and running (here) and data commands (cli/commands.py)."""

from __future__ import annotations

import typer

from crowdexports import filemodes, logs
from crowdexports import migrate as migrations
from crowdexports.bootstrap import build_service, connections_needed
from crowdexports.cli import commands
from crowdexports.config import Settings
from crowdexports.worker.consumer import Worker

app = typer.Typer(help="Exports of a crowdfunding project's orders, made by workers and emailed.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
commands.register(app)


@app.callback()
def _private_files() -> None:
    """Before any command: what it writes is readable by its own user only (crowdexports.filemodes)."""
    filemodes.restrict_process()


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
    workers: int = typer.Option(None, "--workers", min=1, max=64, show_default="one per core",
                                help="API processes (default: CROWDEXPORTS_API_WORKERS, else one per core)."),
    no_worker: bool = typer.Option(False, "--no-worker", help="API only (scale-out: run `worker` apart)."),
    concurrency: int = typer.Option(2, min=1, help="Export threads of the in-process worker."),
) -> None:
    """Serve the HTTP API in one or more processes, with a worker beside them unless --no-worker."""
    from crowdexports.api import server

    settings = _settings_with_logging()
    processes = server.api_processes(settings, workers)
    export_threads = 0 if no_worker else concurrency
    # One process: the API and the worker share this process's service. Several: each API process
    # builds its own; this one keeps a service only for its worker.
    service = None
    if processes == 1 or export_threads:
        connections = connections_needed(settings, api=processes == 1, export_threads=export_threads)
        service = build_service(settings, connections=connections)
    in_process = Worker(service, concurrency) if service is not None and export_threads else None
    if in_process is not None:
        in_process.start()
    try:
        server.run(settings, host, port, processes, service)
    finally:
        if in_process is not None:
            in_process.stop()


@app.command()
def worker(concurrency: int = typer.Option(2, min=1, help="Exports made at the same time.")) -> None:
    """Run a worker alone: takes exports from the queue, and sweeps for lost or stalled ones."""
    Worker(build_service(_settings_with_logging()), concurrency).run()
