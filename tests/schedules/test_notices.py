"""A refused slot emails the schedule's owner, in their language, once per run of refusals: the first
refused slot after an export (or none) is told; the ones after it, refused the same way, are not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from sqlalchemy.orm import Session

from crowdexports.config import Settings
from crowdexports.errors import PermanentMailError
from crowdexports.models import ExportSchedule, User
from crowdexports.runtime import Runtime
from crowdexports.schedules.firing import fire_due
from tests.schedules.test_firing import SETTINGS, schedule_of

DUE = datetime(2027, 1, 1, 1, 30, tzinfo=UTC)  # 02:30 in Paris


def emails(settings: Settings) -> list[EmailMessage]:
    return [message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(settings.outbox_dir.glob("*.eml"))]


def slot(day: int) -> datetime:
    return DUE + timedelta(days=day)


@pytest.mark.parametrize(("lang", "subject", "said"), [
    ("en", "The scheduled export of “Solar Kettle” was not made", "scheduled every day at 02:30 was not made on"),
    ("fr", "L’export programmé de « Solar Kettle » n’a pas été réalisé", "programmé tous les jours à 02:30"),
])
def test_the_first_refused_slot_in_a_row_is_emailed_to_the_owner(session: Session, settings: Settings,
                                                                 runtime: Runtime, lang: str, subject: str,
                                                                 said: str) -> None:
    schedule = schedule_of(session, DUE)
    session.get_one(User, schedule.owner_id).lang = lang
    schedule.settings = {"preset": 999_999}  # a preset deleted since
    session.commit()
    assert fire_due(runtime, lambda _: None, slot(0)) == 0
    [message] = emails(settings)
    assert message["Subject"] == subject and message["To"].addresses[0].addr_spec.endswith("@example.com")
    assert message["Content-Language"] == lang
    body = message.get_body(("plain",))
    assert body is not None and said in body.get_content() and "999999" in body.get_content()

    assert fire_due(runtime, lambda _: None, slot(1)) == 0  # refused again: no second email
    assert len(emails(settings)) == 1
    session.expire_all()
    session.get_one(ExportSchedule, schedule.id).settings = SETTINGS  # the owner fixes it
    session.commit()
    assert fire_due(runtime, lambda _: None, slot(2)) == 1
    session.get_one(ExportSchedule, schedule.id).settings = {"preset": 999_999}
    session.commit()
    assert fire_due(runtime, lambda _: None, slot(3)) == 0  # refused after an export: told again
    assert len(emails(settings)) == 2


class BrokenMailer:
    resend_is_safe = False

    def send(self, message: EmailMessage) -> None:
        raise PermanentMailError("550 no such mailbox")


def test_a_mail_error_does_not_stop_the_sweep(session: Session, runtime: Runtime) -> None:
    refused, fine = schedule_of(session, DUE), schedule_of(session, DUE + timedelta(minutes=1))
    refused.settings = {"preset": 999_999}
    session.commit()
    now = slot(0) + timedelta(minutes=1)  # both due, the refused one first
    assert fire_due(replace(runtime, mailer=BrokenMailer()), lambda _: None, now) == 1
    session.expire_all()
    assert [session.get_one(ExportSchedule, schedule.id).next_run_at for schedule in (refused, fine)] == [slot(1)] * 2
