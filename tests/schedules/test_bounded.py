"""Many due schedules cannot delay an export an owner asks for by hand, nor its email (issue 17, point 3):
a sweep fires schedules only while fewer than `max_scheduled_exports_active` scheduled exports wait or run,
the fleet together, so the hand export queues behind at most that many, whatever the number due; its email
is sent by the worker that made it, next to nothing queued. Shown by the order of events on the real queue
(SQLite or Redis), not by timings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from crowdexports.config import Settings
from crowdexports.exports import asking
from crowdexports.models import Export, ExportScheduleRun, utcnow
from crowdexports.runtime import Runtime
from crowdexports.worker.queue import make_huey
from crowdexports.worker.tasks import Tasks, bind_tasks, sweep_once
from tests.factories import make_project, make_user
from tests.schedules.test_firing import schedule_of

DUE = 10
BOUND = 2


@pytest.fixture
def bounded(runtime: Runtime) -> Runtime:
    return replace(runtime, settings=runtime.settings.model_copy(update={"max_scheduled_exports_active": BOUND}))


@pytest.fixture
def tasks(settings: Settings, bounded: Runtime) -> Tasks:
    huey = make_huey(settings.resolved_broker_url, name=settings.queue_name)
    huey.flush()
    return bind_tasks(huey, bounded)


def queued(tasks: Tasks) -> list[int]:
    """The export ids on the queue, first to be taken first."""
    return [int(task.args[0]) for task in tasks.huey.pending()]


def work_through_queue(tasks: Tasks) -> list[int]:
    """As one consumer thread does: each message in turn, until none is left; the exports taken, in order."""
    taken = []
    while (task := tasks.huey.dequeue()) is not None:
        taken.append(int(task.args[0]))
        tasks.huey.execute(task)
    return taken


def ran(session: Session) -> list[int]:
    session.expire_all()
    return [export_id for export_id in session.scalars(select(ExportScheduleRun.export_id)) if export_id is not None]


def test_an_export_asked_by_hand_and_its_email_pass_before_all_but_a_few_due_schedules(
        session: Session, bounded: Runtime, tasks: Tasks) -> None:
    for _ in range(DUE):
        schedule_of(session, utcnow() - timedelta(hours=1))
    assert sweep_once(bounded, tasks)["scheduled"] == BOUND
    scheduled = ran(session)
    owner = make_user(session)
    hand = asking.request_export(session, make_project(session, owner), owner, {"type": "orders", "format": "csv"},
                                 bounded, tasks.dispatch_export).export
    assert sweep_once(bounded, tasks)["scheduled"] == 0  # BOUND scheduled exports still wait: none fired
    assert queued(tasks) == [*scheduled, hand.id]

    assert work_through_queue(tasks) == [*scheduled, hand.id]
    session.expire_all()
    made = session.get_one(Export, hand.id)
    assert (made.status, made.email_status) == ("succeeded", "sent")
    assert len(ran(session)) == BOUND  # the other due schedules have not fired yet

    assert sweep_once(bounded, tasks)["scheduled"] == BOUND  # the first ones done: room for the next
    assert len(ran(session)) == 2 * BOUND


def test_a_sweep_fires_no_more_than_the_room_left(session: Session, bounded: Runtime, tasks: Tasks) -> None:
    for _ in range(DUE):
        schedule_of(session, utcnow() - timedelta(hours=1))
    assert [sweep_once(bounded, tasks)["scheduled"] for _ in range(3)] == [BOUND, 0, 0]
    work_through_queue(tasks)
    assert [sweep_once(bounded, tasks)["scheduled"] for _ in range(2)] == [BOUND, 0]
