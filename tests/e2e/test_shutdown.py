"""A worker shutting down hands exports back and takes none: the fix for a handed-back export that a
consumer thread, not yet stopped, picked up again and ran to the end during the shutdown."""

from __future__ import annotations

import pytest

from crowdexports.exports import lifecycle
from crowdexports.exports.runner import Outcome
from crowdexports.models import Export
from crowdexports.runtime import Service
from tests.e2e.conftest import Owner

pytestmark = pytest.mark.slow  # a wired service with a real consumer


def test_a_process_shutting_down_declines_exports_and_queues_them_again(service: Service, owner: Owner) -> None:
    with service.runtime.sessions() as session:
        export = lifecycle.request(session, project=owner.project, user=owner.user, type_="orders",
                                   format_="csv", columns=None)
    assert service.runtime.queue_size is not None
    queued_before = service.runtime.queue_size()
    process_export = service.tasks.process_export.call_local  # what a consumer thread runs for the message
    service.tasks.running.hand_back()
    try:
        assert process_export(export.id) is Outcome.DECLINED
    finally:
        service.tasks.running.accept()
    with service.runtime.sessions() as session:
        row = session.get_one(Export, export.id)
    assert (row.status, row.attempt, row.worker) == ("waiting", 0, None)  # never claimed
    assert service.runtime.queue_size() == queued_before + 1  # its message is back in the queue
    assert process_export(export.id) is Outcome.SUCCEEDED  # a running process takes it
