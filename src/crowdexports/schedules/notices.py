"""The owner told by email when a schedule's slot is refused (its settings no longer make a valid export
request: a preset deleted, a column gone), in their language. Only the first refusal in a row: the runs
after it are refused the same way until the owner changes the schedule, and the page and the runs
listing show each of them. Best effort, at most once: sent from the sweep after the run is committed; a
mail error is logged, not retried (the slot is spent either way, and the page says why)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import select

from crowdexports.exports.emailing import message_domain
from crowdexports.mail.compose import compose_schedule_refused
from crowdexports.models import ExportSchedule, ExportScheduleRun, Project, User
from crowdexports.rules.users import display_name
from crowdexports.schedules.words import describe_rule

if TYPE_CHECKING:  # runtime.py wires the modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)


def tell_owner_refused(runtime: Runtime, run_id: int) -> bool:
    """Whether an email went out for this refused run; any error is logged, so that it cannot stop the
    sweep firing the other schedules."""
    try:
        message = _message(runtime, run_id)
        if message is not None:
            runtime.mailer.send(message)
    except Exception:
        logger.exception("the email about refused export schedule run %s could not be sent", run_id)
        return False
    return message is not None


def _message(runtime: Runtime, run_id: int) -> EmailMessage | None:
    """The email for a refused run that follows an export (or none); None for the runs after it."""
    with runtime.sessions() as session:
        run = session.get_one(ExportScheduleRun, run_id)
        previous = session.scalar(select(ExportScheduleRun.error).where(
            ExportScheduleRun.schedule_id == run.schedule_id, ExportScheduleRun.slot < run.slot)
            .order_by(ExportScheduleRun.slot.desc()).limit(1))
        if run.error is None or previous is not None:
            return None
        schedule = session.get_one(ExportSchedule, run.schedule_id)
        project = session.get_one(Project, schedule.project_id)
        owner = session.get_one(User, schedule.owner_id)
        settings = runtime.settings
        return compose_schedule_refused(
            run_id=run.id, to=owner.email, to_name=display_name(owner.name, owner.first_name, owner.last_name),
            lang=owner.lang, project_name=project.name, rule_text=describe_rule(schedule, owner.lang),
            slot=run.slot, timezone=project.timezone, error=run.error, mail_from=settings.mail_from,
            message_domain=message_domain(settings.public_url))
