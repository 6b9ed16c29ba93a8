"""A project seeded once per module (seed_orders, fixed seed) for the read-only export tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crowdexports.db import make_engine, make_session_factory
from crowdexports.models import Base, Project
from crowdexports.seed import seed_orders
from tests.factories import make_project, make_user

SEEDED_ORDERS = 300


@dataclass
class Seeded:
    session: Session
    project: Project


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path: Path = tmp_path_factory.mktemp("seeded") / "seeded.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as session:
        owner = make_user(session, "seeded-owner")
        project = make_project(session, owner, "Solar Kettle", currency="EUR", timezone="Europe/Paris",
                               lang="fr")
        assert seed_orders(session, project.id, SEEDED_ORDERS, seed=11) == SEEDED_ORDERS
        yield Seeded(session, project)
    engine.dispose()
