"""Alembic environment: the URL comes from the caller (crowdexports migrate) or CROWDEXPORTS_* settings."""

from __future__ import annotations

from alembic import context

from crowdexports.config import Settings
from crowdexports.database.engine import make_engine
from crowdexports.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or Settings().resolved_database_url
engine = make_engine(url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
