"""Apply Alembic migrations programmatically, so an installed package can migrate without an ini file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from crowdexports.database.engine import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` did, so `migrate` can say it: the revision it found (None: no schema) and the
    migrations it applied, oldest first, as (revision, description)."""

    database: str  # the URL without its password
    before: str | None
    applied: list[tuple[str, str]]

    def summary(self) -> str:
        if not self.applied:
            return f"database is up to date (revision {self.before}): {self.database}"
        steps = "; ".join(f"{revision} {doc}" for revision, doc in self.applied)
        done = "created the schema" if self.before is None else f"upgraded the schema from {self.before}"
        return f"{done} in {self.database}, {len(self.applied)} migration(s): {steps}"


def _config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _current_revision(database_url: str) -> str | None:
    engine = make_engine(database_url, connections=1)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str) -> Upgrade:
    """Bring the database to the latest schema; running it again changes nothing."""
    config = _config(database_url)
    before = _current_revision(database_url)
    scripts = ScriptDirectory.from_config(config)
    pending = list(scripts.iterate_revisions("heads", before or "base"))
    command.upgrade(config, "head")
    applied = [(script.revision, script.doc.splitlines()[0] if script.doc else "") for script in reversed(pending)]
    return Upgrade(make_url(database_url).render_as_string(hide_password=True), before, applied)
