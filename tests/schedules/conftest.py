"""The schedules' tests: a runtime over the selected stack's database, storage and outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crowdexports import mail, storage
from crowdexports.config import Settings
from crowdexports.runtime import Runtime


@pytest.fixture
def runtime(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> Runtime:
    return Runtime(settings=settings, engine=engine, sessions=session_factory,
                   storage=storage.from_url(settings.resolved_storage_url, s3_endpoint_url=settings.s3_endpoint_url,
                                            s3_region=settings.s3_region),
                   mailer=mail.from_url(None, settings.outbox_dir))
