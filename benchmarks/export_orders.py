"""Export benchmark: seconds, rows/s, file size and peak memory per format, beside reference runs.

    python benchmarks/export_orders.py --orders 200000 [--data-dir bench-data]
    python benchmarks/export_orders.py --orders 200000 --database-url postgresql://user@host:port/db

Seeds the database once (by default a SQLite file in the data dir; with --database-url any database
crowdexports supports, whose tables it creates and, to reseed, drops) and reuses it while it holds
that many orders, then measures, each in a fresh subprocess so that peak RSS is the run's own (the
parent imports only the standard library: a child's ru_maxrss also counts the parent memory it was
forked from):
- csv, xlsx: the export's real path (type registry -> rows -> writer registry -> a temp file); on
  PostgreSQL the rows come through a server-side cursor, so peak RSS shows whether memory stays flat;
- references, in the same run on the same machine (SPEC §8 compares ratios, not absolute times):
  `csv.writer` dumping the same SQL's raw rows (same query, no typing or neutralising), the database's
  own command-line CSV output of that query (`sqlite3 -csv`, or `psql` running `COPY … TO STDOUT`),
  and plain XlsxWriter (constant_memory, `worksheet.write`) fed the same typed rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from crowdexports.exports.types.base import ExportContext, ExportType
    from crowdexports.models import Project

PROJECT_NAME = "Benchmark Kettle"
RUNS = ("csv", "xlsx", "ref-csv-writer", "ref-cli", "ref-xlsxwriter")
CHILD_TASKS = (*RUNS, "seed", "sql")
LABELS = {
    "csv": "csv (crowdexports)", "xlsx": "xlsx (crowdexports)", "ref-csv-writer": "ref: csv.writer, raw rows",
    "ref-cli": "ref: sqlite3 -csv / psql COPY csv", "ref-xlsxwriter": "ref: plain XlsxWriter, typed rows",
}


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _ensure_seeded(url: str, orders: int) -> None:
    """Reuse the database if its benchmark project has exactly `orders` orders, else seed it afresh."""
    from sqlalchemy import func, inspect, select

    from crowdexports.db import make_engine, make_session_factory
    from crowdexports.models import Base, Order, Project, User
    from crowdexports.seed import seed_orders

    engine = make_engine(url)
    if inspect(engine).has_table(Project.__tablename__):
        with make_session_factory(engine)() as session:
            project_id = session.scalar(select(Project.id).where(Project.name == PROJECT_NAME))
            count = session.scalar(select(func.count()).select_from(Order).where(Order.project_id == project_id))
        if project_id is not None and count == orders:
            print(f"reusing {engine.url!r} ({orders:,} orders)", file=sys.stderr)
            engine.dispose()
            return
        Base.metadata.drop_all(engine)
    engine.dispose()
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None:  # a fresh file rather than one full of free pages
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        owner = User(username="bench-owner", email="owner@example.com", name="Bench Owner", lang="fr")
        session.add(owner)
        session.commit()
        project = Project(owner_id=owner.id, name=PROJECT_NAME, slug="benchmark-kettle", currency="EUR",
                          timezone="Europe/Paris", lang="fr")
        session.add(project)
        session.commit()
        seed_orders(session, project.id, orders, seed=1,
                    progress=lambda done: print(f"\rseeding {done:,}/{orders:,}", end="", file=sys.stderr))
    engine.dispose()
    print(f"\nseeded {orders:,} orders in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _context(engine: Engine) -> tuple[ExportType, ExportContext, Project]:
    from sqlalchemy import select

    from crowdexports.db import make_session_factory
    from crowdexports.exports.types import get_type
    from crowdexports.exports.types.base import ExportContext, select_columns
    from crowdexports.models import Project

    with make_session_factory(engine)() as session:
        project = session.scalars(select(Project).where(Project.name == PROJECT_NAME)).one()
    export_type = get_type("orders")
    columns = select_columns(export_type.catalogue, None, "fr")
    return export_type, ExportContext(project.id, "fr", project.lang, project.currency,
                                      ZoneInfo(project.timezone), columns), project


def _sql(engine: Engine) -> str:
    """The export's own SELECT, with the project id inlined, as plain SQL text for the references."""
    from crowdexports.exports.types.orders import ORDERS

    _, context, _ = _context(engine)
    statement = ORDERS.statement(context.project_id, ORDERS.sources(context.columns))
    return str(statement.compile(engine, compile_kwargs={"literal_binds": True}))


def _child(run: str, url: str, out: Path) -> None:
    """One measured run; prints a JSON line. Peak RSS is this process's own."""
    from crowdexports.db import make_engine, make_session_factory
    from crowdexports.exports.writers import get_writer
    from crowdexports.exports.writers.base import SheetInfo

    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), _cpu_seconds(resource.RUSAGE_SELF)
    if run in ("csv", "xlsx"):
        export_type, context, project = _context(engine)
        with make_session_factory(engine)() as session:
            rows = get_writer(run).write(out, context.columns, export_type.rows(session, context),
                                         SheetInfo(project.currency, project.name))
    elif run == "ref-csv-writer":
        sql = _sql(engine)
        connection = engine.raw_connection()
        # A named (server-side) cursor on PostgreSQL, as the export's stream uses; sqlite3's is lazy anyway.
        cursor = connection.cursor(name="ref") if engine.dialect.name == "postgresql" else connection.cursor()
        cursor.execute(sql)
        with out.open("w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            rows = 0
            for row in cursor:
                writer.writerow(row)
                rows += 1
    elif run == "ref-xlsxwriter":
        import xlsxwriter

        export_type, context, _ = _context(engine)
        workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False})
        sheet = workbook.add_worksheet()
        date_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        rows = 0
        with make_session_factory(engine)() as session:
            for rows, row in enumerate(export_type.rows(session, context), 1):
                for col, value in enumerate(row):
                    sheet.write(rows, col, value, date_format if hasattr(value, "hour") else None)
        workbook.close()
    else:
        raise SystemExit(f"unknown run {run}")
    seconds, cpu = time.perf_counter() - started, _cpu_seconds(resource.RUSAGE_SELF) - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "size": out.stat().st_size,
                      "peak_kib": peak_kib}))


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _database_cli(url: str, out: Path, sql: str) -> dict[str, Any]:
    """The database tool's own CSV dump of the same query; rusage from wait4 is that process's own
    (psql's only: PostgreSQL's server does the query, as it does for the export)."""
    sqlite_file = _sqlite_path(url)
    cli = shutil.which("sqlite3" if sqlite_file else "psql")
    if cli is None:
        return {}
    if sqlite_file is not None:
        command = [cli, "-csv", str(sqlite_file), sql + ";"]
    else:  # libpq wants the URL without SQLAlchemy's driver name
        libpq_url = "postgresql://" + url.split("://", 1)[1]
        command = [cli, "--no-psqlrc", "-q", "-d", libpq_url, "-c", f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"]
    with out.open("wb") as file:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=file)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{Path(cli).name} failed with {process.returncode}")
    with out.open(encoding="utf-8", newline="") as text:
        rows = sum(1 for _ in csv.reader(text))
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "rows": rows, "size": out.stat().st_size,
            "peak_kib": usage.ru_maxrss}


def _measure(run: str, url: str, work: Path, sql: str) -> dict[str, Any]:
    out = work / f"{run}.out"
    try:
        if run == "ref-cli":
            return _database_cli(url, out, sql)
        return dict(json.loads(_run_child(run, url, out)))
    finally:
        out.unlink(missing_ok=True)


def _run_child(task: str, url: str, out: Path | None = None) -> str:
    """Run `task` in a fresh interpreter; its last stdout line is the answer."""
    command = [sys.executable, __file__, "--child", task, "--database-url", url]
    if out is not None:
        command += ["--out", str(out)]
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--data-dir", type=Path, default=Path("bench-data"))
    parser.add_argument("--database-url", help="seed and export this database (default: a SQLite file in the data "
                                               "dir); its tables are created, and dropped to reseed")
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--child", choices=CHILD_TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "seed":
        _ensure_seeded(args.database_url, args.orders)
    elif args.child == "sql":
        from crowdexports.db import make_engine

        print(json.dumps(_sql(make_engine(args.database_url))))
    elif args.child:
        _child(args.child, args.database_url, args.out)
    else:
        _parent(args.orders, args.data_dir, args.database_url, args.runs)


def _parent(orders: int, data_dir: Path, url: str | None, runs: list[str]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    url = url or f"sqlite:///{(data_dir / f'orders-{orders}.db').resolve()}"
    subprocess.run([sys.executable, __file__, "--child", "seed", "--database-url", url, "--orders", str(orders)],
                   check=True)
    sql = json.loads(_run_child("sql", url))
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        for run in runs:
            print(f"running {run}…", file=sys.stderr)
            results[run] = _measure(run, url, Path(work), sql)
    _print_table(orders, "SQLite" if _sqlite_path(url) else "PostgreSQL", results)


def _print_table(orders: int, database: str, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{orders:,} orders on {database}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"{'run':<34}{'seconds':>9}{'CPU s':>8}{'rows':>11}{'rows/s':>10}{'MiB':>8}{'peak RSS MiB':>14}")
    for run, result in results.items():
        if not result:
            print(f"{LABELS[run]:<34}{'(not available)':>20}")
            continue
        print(f"{LABELS[run]:<34}{result['seconds']:>9.2f}{result['cpu']:>8.2f}{result['rows']:>11,}"
              f"{result['rows'] / result['seconds']:>10,.0f}{result['size'] / 2**20:>8.1f}"
              f"{result['peak_kib'] / 1024:>14.1f}")

    def ratio(run: str, reference: str, target: str) -> None:
        if results.get(run) and results.get(reference):
            wall = results[run]["seconds"] / results[reference]["seconds"]
            cpu = results[run]["cpu"] / results[reference]["cpu"]
            print(f"  {LABELS[run]} / {LABELS[reference]}: {wall:.2f}x wall, {cpu:.2f}x CPU {target}")

    print("ratios (same run, same machine; CPU time is the steadier one when the machine is shared):")
    ratio("csv", "ref-csv-writer", "")
    ratio("csv", "ref-cli", "(SPEC §8 target, against sqlite3: <= 2.5x)")
    ratio("xlsx", "ref-xlsxwriter", "(SPEC §8 target: <= 0.33x)")


if __name__ == "__main__":
    main()
