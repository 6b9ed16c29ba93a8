"""Export benchmark: SPEC §8's performance targets, measured against reference runs and marked PASS/MISS.

    python benchmarks/export_orders.py                      # 50,000, 200,000 and 400,000 orders
    python benchmarks/export_orders.py --million            # ... and 1,000,000 (the memory target's size)
    python benchmarks/export_orders.py --sizes 2000 5000    # quick run at other sizes
    python benchmarks/export_orders.py --repeat 3           # each figure the median of three rounds
    python benchmarks/export_orders.py --sizes 200000 --database-url postgresql://user@host:port/db

Each size has its own database: by default a SQLite file in the data dir (orders-N.db), seeded once and
reused while it holds that many orders; with --database-url (one size only) any database crowdexports
supports, whose tables it creates and, to reseed, drops. Every measured run is a fresh subprocess so
that its peak RSS is its own (the parent imports only the standard library: a child's ru_maxrss also
counts the parent memory it was forked from). Per size, in this order, so that each reference runs
right before the export it is compared with, in the same machine state:
- ref-cli: the database's own command-line CSV dump of the export's query (`sqlite3 -csv`, or `psql`
  running `COPY … TO STDOUT`);
- ref-csv-writer: stdlib `csv.writer` dumping that query's raw rows (no typing or neutralising);
- csv: the export's real path (type registry -> rows -> writer registry -> a temp file); on PostgreSQL
  the rows come through a server-side cursor, so peak RSS shows whether memory stays flat;
- ref-xlsxwriter: XlsxWriter constant_memory writing the SAME typed cells, formats, header and sheet
  rules as ours (the tests' reference writer, tests/files/reference_xlsx.py), fed the same rows;
- xlsx: the export's real path, as csv.

It prints, per run, wall and CPU seconds, rows, rows/s, peak RSS and file size, then the targets
computed from those figures (SPEC §8 compares ratios made in the same run, not absolute times).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from crowdexports.exports.types.base import ExportContext, ExportType
    from crowdexports.exports.writers.base import RowWriter
    from crowdexports.models import Project

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_NAME = "Benchmark Kettle"
DEFAULT_SIZES = (50_000, 200_000, 400_000)
MILLION = 1_000_000
RUNS = ("ref-cli", "ref-csv-writer", "csv", "ref-xlsxwriter", "xlsx")  # measuring order within a size
CHILD_TASKS = (*RUNS, "seed", "sql")
LABELS = {
    "ref-cli": "ref: {cli}", "ref-csv-writer": "ref: csv.writer, raw rows", "csv": "csv (crowdexports)",
    "ref-xlsxwriter": "ref: XlsxWriter constant_memory", "xlsx": "xlsx (crowdexports)",
}
CLI_NAMES = {"SQLite": "sqlite3 -csv", "PostgreSQL": "psql COPY csv"}
CSV_TARGET = 2.5  # csv export time / the database CLI's dump time
XLSX_TARGET = 1 / 3  # xlsx export time / XlsxWriter constant_memory time
PEAK_RSS_TARGET = 150_000_000  # bytes (150 MB, MB = 10^6 bytes), in both formats...
PEAK_RSS_TARGET_ORDERS = MILLION  # ...at this many orders
LINEAR_TARGET = 2.2  # time at twice the orders / time at the orders
PRELOADED = ("crowdexports.database.engine", "crowdexports.models", "crowdexports.exports.types",
             "crowdexports.exports.types.orders", "crowdexports.exports.writers", "crowdexports.exports.writers.base")


@dataclass(frozen=True)
class Measure:
    """One run's figures, as a child prints them (JSON) and the report reads them."""

    seconds: float  # wall
    cpu: float  # user + system of the measured process
    rows: int  # data rows written (no header)
    size: int  # output file, bytes
    peak_kib: int  # ru_maxrss: KiB on Linux

    @property
    def peak_bytes(self) -> int:
        return self.peak_kib * 1024


Results = dict[int, dict[str, Measure | None]]  # size -> run -> figures (None: tool not installed)


# --- children: seeding and measured runs (they may import crowdexports) -------------------------------------


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _ensure_seeded(url: str, orders: int) -> None:
    """Reuse the database if its benchmark project has exactly `orders` orders, else seed it afresh."""
    from sqlalchemy import func, inspect, select

    from crowdexports.database.engine import make_engine, make_session_factory
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

    from crowdexports.database.engine import make_session_factory
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


def _writer(run: str) -> RowWriter:
    """Ours from the writer registry (whatever it returns today), or the tests' XlsxWriter reference,
    which writes the same typed cells, formats, header and sheets: so the xlsx ratio compares writers
    doing the same work. The reference lives in tests/, hence the repo root on sys.path."""
    if run == "ref-xlsxwriter":
        sys.path.insert(0, str(REPO_ROOT))
        from tests.files.reference_xlsx import ReferenceXlsxWriter

        return ReferenceXlsxWriter()
    from crowdexports.exports.writers import get_writer

    return get_writer(run)


def _export(engine: Engine, writer: RowWriter, out: Path) -> int:
    """The export's real path: the type registry's rows from a session, into `writer`; data rows written. Our
    writers get the pipeline's control totals too (counted from the rows, the xlsx's Summary sheet)."""
    from crowdexports.database.engine import make_session_factory
    from crowdexports.exports.summary import Totals
    from crowdexports.exports.summary_sheet import summary_sheet
    from crowdexports.exports.writers.base import SheetInfo
    from crowdexports.exports.writers.csv import CsvWriter
    from crowdexports.exports.writers.digest import write_hashed
    from crowdexports.exports.writers.xlsx.writer import XlsxWriter

    export_type, context, project = _context(engine)
    with make_session_factory(engine)() as session:
        if isinstance(writer, CsvWriter | XlsxWriter):  # ours: hashed and counted while written, as the pipeline does
            totals = Totals(project.currency)
            info = SheetInfo(project.currency, project.name, summary_sheet(totals, context.lang))
            return write_hashed(writer, out, context.columns, export_type.rows(session, context, totals), info)[0]
        rows, info = export_type.rows(session, context), SheetInfo(project.currency, project.name)
        return writer.write(out, context.columns, rows, info)  # the reference writer, to a path


def _dump_raw_rows(engine: Engine, out: Path) -> int:
    """stdlib csv.writer over the same SQL's raw DB-API rows: the floor of a Python csv dump."""
    sql = _sql(engine)
    connection = engine.raw_connection()
    # A named (server-side) cursor on PostgreSQL, as the export's stream uses; sqlite3's is lazy anyway.
    cursor = connection.cursor(name="ref") if engine.dialect.name == "postgresql" else connection.cursor()
    cursor.execute(sql)
    rows = 0
    with out.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        # SQLAlchemy's DBAPICursor protocol leaves out __iter__, which sqlite3's and psycopg's cursors have.
        for row in cast(Iterable[Sequence[object]], cursor):
            writer.writerow(row)
            rows += 1
    connection.close()
    return rows


def _child(run: str, url: str, out: Path) -> None:
    """One measured run; prints its Measure as a JSON line. Peak RSS is this process's own; the clock
    starts after the imports and the writer's construction, the same for ours and the references."""
    from crowdexports.database.engine import make_engine

    for module in PRELOADED:  # imported before the clock starts, whichever the run
        importlib.import_module(module)
    engine = make_engine(url)
    writer = None if run == "ref-csv-writer" else _writer(run)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    rows = _dump_raw_rows(engine, out) if writer is None else _export(engine, writer, out)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(asdict(Measure(seconds, cpu, rows, out.stat().st_size, peak_kib))))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- parent: standard library only -------------------------------------------------------------------------


def _database_cli(url: str, out: Path, sql: str) -> Measure | None:
    """The database tool's own CSV dump of the same query; rusage from wait4 is that process's own
    (psql's only: PostgreSQL's server does the query, as it does for the export). None if not installed."""
    sqlite_file = _sqlite_path(url)
    cli = shutil.which("sqlite3" if sqlite_file else "psql")
    if cli is None:
        return None
    if sqlite_file is not None:
        command = [cli, "-csv", "-noheader", str(sqlite_file), sql + ";"]
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
    return Measure(seconds, usage.ru_utime + usage.ru_stime, rows, out.stat().st_size, usage.ru_maxrss)


def _measure(run: str, url: str, work: Path, sql: str) -> Measure | None:
    out = work / f"{run}.out"
    try:
        if run == "ref-cli":
            return _database_cli(url, out, sql)
        return Measure(**json.loads(_run_child(run, url, out)))
    finally:
        out.unlink(missing_ok=True)


def _run_child(task: str, url: str, out: Path | None = None) -> str:
    """Run `task` in a fresh interpreter; its last stdout line is the answer."""
    command = [sys.executable, __file__, "--child", task, "--database-url", url]
    if out is not None:
        command += ["--out", str(out)]
    result = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


def _seed(url: str, orders: int) -> None:
    subprocess.run([sys.executable, __file__, "--child", "seed", "--database-url", url, "--orders", str(orders)],
                   check=True)


def _warm_cache(url: str) -> None:
    """Read the SQLite file once so that the size's first run does not alone pay for cold disk reads."""
    sqlite_file = _sqlite_path(url)
    if sqlite_file is None:
        return
    with sqlite_file.open("rb") as file:
        while file.read(1 << 20):
            pass


def _median(measures: list[Measure | None]) -> Measure | None:
    """The measure of median wall time (the middle one of an odd count): one slow or fast outlier on a
    shared machine moves it less than it moves a single run."""
    found = sorted((measure for measure in measures if measure is not None), key=lambda measure: measure.seconds)
    return found[(len(found) - 1) // 2] if found else None


def _measure_sizes(urls: dict[int, str], runs: Sequence[str], data_dir: Path, repeat: int) -> Results:
    """All runs of a size back to back (each reference right before its export), smallest size first;
    with `repeat`, the runs of a size are done that many rounds and each keeps its median."""
    results: Results = {}
    with tempfile.TemporaryDirectory(dir=data_dir) as work:
        for size, url in urls.items():
            sql = json.loads(_run_child("sql", url))
            _warm_cache(url)
            rounds: dict[str, list[Measure | None]] = {run: [] for run in runs}
            for round_number in range(1, repeat + 1):
                for run in runs:
                    print(f"{size:,} orders: running {run} (round {round_number} of {repeat})…", file=sys.stderr)
                    rounds[run].append(_measure(run, url, Path(work), sql))
            results[size] = {run: _median(measures) for run, measures in rounds.items()}
    return results


def _parent(sizes: list[int], data_dir: Path, url: str | None, runs: Sequence[str], repeat: int) -> None:
    load_start = os.getloadavg()
    data_dir.mkdir(parents=True, exist_ok=True)
    urls = {size: url or f"sqlite:///{(data_dir / f'orders-{size}.db').resolve()}" for size in sizes}
    for size, size_url in urls.items():  # all seeding first: the measured runs then follow each other
        _seed(size_url, size)
    results = _measure_sizes(urls, runs, data_dir, repeat)
    database = "SQLite" if _sqlite_path(next(iter(urls.values()))) else "PostgreSQL"
    report = Report(results, database, runs, repeat)
    report.header(load_start, os.getloadavg())
    report.tables()
    report.targets()


# --- report ------------------------------------------------------------------------------------------------


def _ratio(run: Measure, reference: Measure) -> tuple[float, float]:
    """(wall, CPU) ratios; CPU is the steadier one when the machine is shared."""
    return run.seconds / reference.seconds, run.cpu / max(reference.cpu, 1e-9)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Report:
    """Prints the figures, then each target computed from them with PASS or MISS (decided on wall time,
    as SPEC §8 states them; the CPU ratio is shown beside it)."""

    def __init__(self, results: Results, database: str, runs: Sequence[str], repeat: int) -> None:
        self.results = results
        self.database = database
        self.runs = runs
        self.repeat = repeat
        self.sizes = sorted(results)
        self.verdicts: list[bool] = []
        self.unmeasured = 0

    def label(self, run: str) -> str:
        return LABELS[run].format(cli=CLI_NAMES[self.database])

    def header(self, load_start: tuple[float, ...], load_end: tuple[float, ...]) -> None:
        def loads(values: Iterable[float]) -> str:
            return " ".join(f"{value:.2f}" for value in values)

        print(f"\nexport benchmark on {self.database}: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"load average (1/5/15 min) {loads(load_start)} at start, {loads(load_end)} at end "
              "(our runs, one at a time, add up to 1)")
        if self.repeat > 1:
            print(f"every figure is the run of median wall time among {self.repeat} rounds")

    def tables(self) -> None:
        for size in self.sizes:
            print(f"\n{size:,} orders")
            print(f"{'run':<34}{'seconds':>9}{'CPU s':>8}{'rows':>11}{'rows/s':>10}{'peak RSS MiB':>14}"
                  f"{'file MiB':>10}")
            for run, measure in self.results[size].items():
                if measure is None:
                    print(f"{self.label(run):<34}{'(not available)':>20}")
                    continue
                print(f"{self.label(run):<34}{measure.seconds:>9.2f}{measure.cpu:>8.2f}{measure.rows:>11,}"
                      f"{measure.rows / measure.seconds:>10,.0f}{measure.peak_kib / 1024:>14.1f}"
                      f"{measure.size / 2**20:>10.1f}")
            counts = {measure.rows for measure in self.results[size].values() if measure is not None}
            if len(counts) > 1:
                print(f"  WARNING: the runs wrote different row counts: {sorted(counts)}")

    def targets(self) -> None:
        print("\ntargets (SPEC §8; ratios of runs made back to back in this run; PASS/MISS on wall time):")
        self.against("csv", "ref-cli", CSV_TARGET, f"csv export <= {CSV_TARGET}x the {CLI_NAMES[self.database]} "
                     "dump of the same query" + (" (SPEC states it against sqlite3)"
                                                 if self.database != "SQLite" else ""))
        self.against("xlsx", "ref-xlsxwriter", XLSX_TARGET, "xlsx export <= 1/3 of XlsxWriter constant_memory's "
                     "time on the same typed cells")
        self.peak_rss()
        self.linear()
        passed = sum(self.verdicts)
        print(f"\n{passed} PASS, {len(self.verdicts) - passed} MISS, {self.unmeasured} not measured")

    def measure(self, size: int, run: str) -> Measure | None:
        return self.results[size].get(run)

    def check(self, text: str, ok: bool) -> None:
        self.verdicts.append(ok)
        print(f"    {text}  {_verdict(ok)}")

    def skip(self, text: str) -> None:
        self.unmeasured += 1
        print(f"    {text}: not measured")

    def against(self, run: str, reference: str, target: float, title: str) -> None:
        """Per size: our run's time over the reference's, made just before it."""
        print(f"  {title}:")
        for size in self.sizes:
            ours, theirs = self.measure(size, run), self.measure(size, reference)
            if ours is None or theirs is None:
                self.skip(f"{size:>9,}: {run} or {reference} not run or not available")
                continue
            wall, cpu = _ratio(ours, theirs)
            self.check(f"{size:>9,}: {wall:.2f}x wall, {cpu:.2f}x CPU (target <= {target:.2f}x)", wall <= target)

    def peak_rss(self) -> None:
        """At the largest size run: SPEC sets it at 1,000,000 orders, which only --million includes."""
        largest = self.sizes[-1]
        included = "included in this run" if largest >= PEAK_RSS_TARGET_ORDERS else "NOT in this run (add --million)"
        print(f"  peak RSS < {PEAK_RSS_TARGET / 1e6:.0f} MB (MB = 10^6 bytes) in both formats, at the largest size "
              f"run ({largest:,} orders);\n    the target is at {PEAK_RSS_TARGET_ORDERS:,} orders: {included}:")
        for run in ("csv", "xlsx"):
            measure = self.measure(largest, run)
            if measure is None:
                self.skip(f"{run}: not run")
                continue
            self.check(f"{run}: {measure.peak_bytes / 1e6:.1f} MB", measure.peak_bytes < PEAK_RSS_TARGET)

    def linear(self) -> None:
        """Time at twice the orders <= 2.2x the time at the orders, for each size whose double also ran
        (the default sizes: 200,000 and 400,000)."""
        pairs = [(size, size * 2) for size in self.sizes if size * 2 in self.results]
        print(f"  time linear in rows: our time at twice the orders <= {LINEAR_TARGET}x (wall):")
        if not pairs:
            self.skip("needs a size and its double among the sizes (the defaults have 200,000 and 400,000)")
        for small, large in pairs:
            for run in ("csv", "xlsx"):
                ours_large, ours_small = self.measure(large, run), self.measure(small, run)
                if ours_large is None or ours_small is None:
                    self.skip(f"{run} {large:,} / {small:,}: {run} not run")
                    continue
                wall, cpu = _ratio(ours_large, ours_small)
                self.check(f"{run} {large:,} / {small:,}: {wall:.2f}x wall, {cpu:.2f}x CPU", wall <= LINEAR_TARGET)


# --- command line ------------------------------------------------------------------------------------------


def _sizes(args: argparse.Namespace) -> list[int]:
    sizes = set(args.sizes or DEFAULT_SIZES)
    if args.million:
        sizes.add(MILLION)
    return sorted(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", metavar="N",
                        help=f"order counts to measure (default: {', '.join(f'{n:,}' for n in DEFAULT_SIZES)})")
    parser.add_argument("--million", action="store_true", help=f"also measure {MILLION:,} orders")
    parser.add_argument("--data-dir", type=Path, default=Path("bench-data"))
    parser.add_argument("--database-url", help="seed and export this database (default: a SQLite file per size in "
                                               "the data dir); one size only; its tables are created, and dropped "
                                               "to reseed")
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="measure every run N times (in rounds) and report each one's median (odd N)")
    parser.add_argument("--child", choices=CHILD_TASKS, help=argparse.SUPPRESS)
    parser.add_argument("--orders", type=int, help=argparse.SUPPRESS)  # the seed child's size
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "seed":
        _ensure_seeded(args.database_url, args.orders)
    elif args.child == "sql":
        from crowdexports.database.engine import make_engine

        print(json.dumps(_sql(make_engine(args.database_url))))
    elif args.child:
        _child(args.child, args.database_url, args.out)
    else:
        sizes = _sizes(args)
        if args.database_url and len(sizes) != 1:
            parser.error("--database-url holds one size at a time: give a single --sizes N (and no --million)")
        if any(size < 1 for size in sizes):
            parser.error("sizes must be positive")
        if args.repeat < 1:
            parser.error("--repeat must be at least 1")
        _parent(sizes, args.data_dir, args.database_url, [run for run in RUNS if run in args.runs], args.repeat)


if __name__ == "__main__":
    main()
