"""Database URLs, engines and migrations, on the selected stack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, insert, select
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.database.engine import SPARE_CONNECTIONS, make_engine, normalize_url
from crowdexports.database.migrate import MIGRATIONS
from crowdexports.models import Base
from tests.conftest import Stack


@pytest.mark.parametrize("url", ["postgres://u:p%40ss@db:5433/app", "postgresql://u:p%40ss@db:5433/app",
                                 "postgresql+psycopg://u:p%40ss@db:5433/app"])
def test_postgresql_urls_use_psycopg_3_with_a_sized_pool(url: str) -> None:
    assert normalize_url(url) == "postgresql+psycopg://u:p%40ss@db:5433/app"
    engine = make_engine(url, 42)  # no connection is made until one is needed
    assert engine.dialect.driver == "psycopg" and engine.url.password == "p@ss"
    # Attributes of QueuePool, which this engine's pool is; engine.pool is typed as any Pool.
    assert engine.pool.size() == 42 and engine.pool._max_overflow == SPARE_CONNECTIONS  # type: ignore[attr-defined]
    assert engine.pool._pre_ping
    engine.dispose()


def test_other_urls_are_left_alone() -> None:
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert normalize_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"


def test_migrate_twice_on_an_empty_database_gives_the_models_schema(stack: Stack, tmp_path: Path) -> None:
    """`crowdexports migrate` from nothing, then again (a no-op); given the plain `postgresql://` form on PG."""
    with stack.database(tmp_path, empty=True) as url:
        runner = CliRunner(env={"CROWDEXPORTS_DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"),
                                "CROWDEXPORTS_DATA_DIR": str(tmp_path / "data")})
        for _ in range(2):
            result = runner.invoke(app, ["migrate"])
            assert result.exit_code == 0, result.output
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                assert context.get_current_revision() == head
                assert compare_metadata(context, Base.metadata) == []
        finally:
            engine.dispose()


def test_csv_exports_made_before_the_dialect_existed_are_rfc4180(stack: Stack, tmp_path: Path) -> None:
    """Rows of the initial schema, upgraded: csv exports get `rfc4180` (all csv was then), xlsx no option;
    then `csv_dialect` moves into `options` and back on a downgrade."""
    with stack.database(tmp_path, empty=True) as url:
        config = _alembic_config(url)
        command.upgrade(config, "fa2c2092a199")  # the initial schema, before csv_dialect
        engine = make_engine(url)
        try:
            with engine.begin() as connection:
                tables = MetaData()
                users, projects, exports = (Table(name, tables, autoload_with=connection)
                                            for name in ("users", "projects", "exports"))
                now = datetime(2026, 11, 1, 12, 0)
                connection.execute(insert(users).values(
                    id=1, username="old", email="old@example.com", first_name="", last_name="", name="", lang="en",
                    is_staff=False, created_at=now))
                connection.execute(insert(projects).values(
                    id=1, owner_id=1, name="Old", slug="old", currency="EUR", timezone="UTC", lang="en",
                    created_at=now))
                for export_id, format_ in ((1, "csv"), (2, "xlsx")):
                    connection.execute(insert(exports).values(
                        id=export_id, project_id=1, user_id=1, type="orders", format=format_, status="succeeded",
                        created_at=now.replace(second=export_id), attempt=1, rows_done=0, email_status="sent",
                        email_attempts=1))
            command.upgrade(config, "7c3f9e21b4d8")  # the last revision with csv_dialect
            with engine.begin() as connection:
                upgraded = Table("exports", MetaData(), autoload_with=connection)
                rows = connection.execute(select(upgraded.c.id, upgraded.c.csv_dialect, upgraded.c.rows_estimated)
                                          .order_by(upgraded.c.id)).all()
                assert [tuple(row) for row in rows] == [(1, "rfc4180", None), (2, None, None)]
                connection.execute(insert(upgraded).values(
                    id=3, project_id=1, user_id=1, type="orders", format="csv", csv_dialect="excel_eu",
                    status="succeeded", created_at=now.replace(second=3), attempt=1, rows_done=0,
                    email_status="sent", email_attempts=1))
            command.upgrade(config, "head")
            with engine.connect() as connection:
                upgraded = Table("exports", MetaData(), autoload_with=connection)
                assert "csv_dialect" not in upgraded.c
                stored = connection.execute(select(upgraded.c.id, upgraded.c.options).order_by(upgraded.c.id)).all()
            assert [tuple(row) for row in stored] == [(1, {"format": {"dialect": "rfc4180"}, "type": {}}),
                                                       (2, {"format": {}, "type": {}}),
                                                       (3, {"format": {"dialect": "excel_eu"}, "type": {}})]
            command.downgrade(config, "7c3f9e21b4d8")
            with engine.connect() as connection:
                downgraded = Table("exports", MetaData(), autoload_with=connection)
                assert "options" not in downgraded.c
                back = connection.execute(select(downgraded.c.id, downgraded.c.csv_dialect)
                                          .order_by(downgraded.c.id)).all()
            assert [tuple(row) for row in back] == [(1, "rfc4180"), (2, None), (3, "excel_eu")]
        finally:
            engine.dispose()


def _alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
