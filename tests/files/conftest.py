"""A project seeded once per module (seed_orders, fixed seed) on the selected stack, for the read-only
export tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crowdexports.database.engine import make_engine, make_session_factory
from crowdexports.models import Base, Project
from crowdexports.seed import seed_orders
from tests.conftest import Stack
from tests.factories import make_project, make_user

SEEDED_ORDERS = 300


@dataclass
class Seeded:
    session: Session
    project: Project


@contextmanager
def module_session(stack: Stack, folder: Path) -> Iterator[Session]:
    """A session on a database of its own on the selected stack (a SQLite file in `folder`), with the
    schema: a module's data, made once and read by its tests."""
    with stack.database(folder) as url:
        engine = make_engine(url)
        if not stack.migrated:
            Base.metadata.create_all(engine)
        try:
            with make_session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, stack: Stack) -> Iterator[Seeded]:
    with module_session(stack, tmp_path_factory.mktemp("seeded")) as session:
        owner = make_user(session, "seeded-owner")
        project = make_project(session, owner, "Solar Kettle", currency="EUR", timezone="Europe/Paris",
                               lang="fr")
        assert seed_orders(session, project.id, SEEDED_ORDERS, seed=11) == SEEDED_ORDERS
        yield Seeded(session, project)
