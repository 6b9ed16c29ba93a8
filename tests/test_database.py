"""Database URLs, engines and migrations, on the selected stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from crowdexports.cli.main import app
from crowdexports.db import MAX_OVERFLOW, POOL_SIZE, make_engine, normalize_url
from crowdexports.migrate import MIGRATIONS
from crowdexports.models import Base
from tests.conftest import Stack


@pytest.mark.parametrize("url", ["postgres://u:p%40ss@db:5433/app", "postgresql://u:p%40ss@db:5433/app",
                                 "postgresql+psycopg://u:p%40ss@db:5433/app"])
def test_postgresql_urls_use_psycopg_3_with_a_sized_pool(url: str) -> None:
    assert normalize_url(url) == "postgresql+psycopg://u:p%40ss@db:5433/app"
    engine = make_engine(url)  # no connection is made until one is needed
    assert engine.dialect.driver == "psycopg" and engine.url.password == "p@ss"
    assert engine.pool.size() == POOL_SIZE and engine.pool._max_overflow == MAX_OVERFLOW  # type: ignore[attr-defined]
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
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


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
