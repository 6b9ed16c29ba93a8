"""The `crowdexports` command: serving and running (here) and data commands (cli/commands.py)."""

from __future__ import annotations

import errno

import typer

from crowdexports import filemodes, logs
from crowdexports.cli import commands
from crowdexports.cli.output import check_settings, console
from crowdexports.config import Settings
from crowdexports.database import migrate as migrations
from crowdexports.runtime import build_service, connections_needed
from crowdexports.worker.consumer import Worker

app = typer.Typer(help="Exports of a crowdfunding project's orders, made by workers and emailed.",
                  no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None)
commands.register(app)


@app.callback()
def _before_any_command() -> None:
    """What a command writes is readable by its own user only (crowdexports.filemodes), and a bad
    setting stops it before it starts."""
    filemodes.restrict_process()
    check_settings()


def _settings_with_logging() -> Settings:
    settings = Settings()
    logs.configure(settings.log_format, settings.log_level)
    return settings


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    typer.echo(migrations.upgrade(Settings().resolved_database_url).summary())


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

    try:
        server.check_port_free(host, port)
    except OSError as exc:
        advice = (f"port {port} is in use: choose another with --port (make run PORT={port + 1})"
                  if exc.errno == errno.EADDRINUSE else exc.strerror)
        console.print(f"cannot listen on {host}:{port}: {advice}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    settings = _settings_with_logging().serving_on(host, port)
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
