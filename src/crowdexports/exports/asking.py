"""The two ways a new export is made, asked for (the API's create, the page's form) and retried (the API,
the page, the CLI), through one path: the request checked, the export stored within the project's cap of
active exports (`lifecycle.request`), the worker's doorbell rung."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.errors import Conflict, FieldProblem, InvalidInput
from crowdexports.exports import changes_since, idempotency, lifecycle, presets
from crowdexports.exports.requests import Validated, validate_export_request
from crowdexports.exports.statuses import ExportStatus
from crowdexports.exports.types.orders import OrdersOptions
from crowdexports.models import Export, Project, User, UserRecord

if TYPE_CHECKING:  # runtime.py wires the modules together, so they may not import it
    from crowdexports.runtime import Runtime

logger = logging.getLogger(__name__)
RETRYABLE = (ExportStatus.FAILED, ExportStatus.CANCELED)


@dataclass(frozen=True)
class Asked:
    """The export a request answers; `replayed`: made earlier, by a request with the same Idempotency-Key."""

    export: Export
    replayed: bool = False


def _dispatch(dispatch_export: Callable[[int], None], export_id: int) -> None:
    """Ring the worker's doorbell. The row is committed already: if the message is lost, the sweep
    dispatches the export again, so a failure here must not fail the request."""
    try:
        dispatch_export(export_id)
    except Exception:
        logger.exception("dispatch of export %s failed; the sweep will retry it", export_id)


def with_changes_since(session: Session, project: Project, valid: Validated) -> Validated:
    """`valid` with the export its `changes_since` names resolved now (exports.changes_since): a later
    export must not move an asked-for "last"."""
    if valid.changes_since is None or not isinstance(valid.type_options, OrdersOptions):
        return valid
    base = changes_since.resolve(session, project.id, valid.changes_since)
    return valid._replace(type_options=replace(valid.type_options, changes_since=base), changes_since=None)


def _make(session: Session, project: Project, user: User | UserRecord, valid: Validated, chosen_columns: bool,
          runtime: Runtime, dispatch_export: Callable[[int], None], *, retry_of: int | None = None,
          with_export: Callable[[Export], None] | None = None) -> Export:
    """The export stored and dispatched; its columns only if chosen (else the type's defaults, in the
    recipient's language when the file is made)."""
    valid = with_changes_since(session, project, valid)
    chosen = {column.id: column.header for column in valid.columns} if chosen_columns else None
    export = lifecycle.request(session, project=project, user=user, type_=valid.export_type.identifier,
                               format_=valid.writer.format, columns=chosen, options=valid.options,
                               max_active=runtime.settings.max_active_exports_per_project, retry_of=retry_of,
                               with_export=with_export)
    _dispatch(dispatch_export, export.id)
    return export


def request_export(session: Session, project: Project, user: User | UserRecord, payload: Mapping[str, object],
                   runtime: Runtime, dispatch_export: Callable[[int], None], key: str | None = None, *,
                   with_export: Callable[[Export], None] | None = None) -> Asked:
    """`POST /v1/projects/{id}/exports`, the page's form, the CLI's `exports create` and a schedule's run, with
    the preset the request names (exports.presets). With an Idempotency-Key (exports.idempotency)
    a live key's export is answered before anything is checked or counted, so a replay never meets the cap.
    `with_export` (a schedule's run row, schedules.firing; never with a key) runs in the export's transaction;
    its IntegrityError reaches the caller."""
    assert key is None or with_export is None
    keyed = None if key is None else idempotency.keyed(user.id, key, project.id, payload)
    if keyed is not None and (earlier := idempotency.replayed_export(session, keyed)) is not None:
        return Asked(earlier, replayed=True)
    valid, body = presets.validate_with_preset(session, project, payload, user.lang)
    record = with_export if keyed is None else partial(idempotency.record, session, keyed)
    try:
        return Asked(_make(session, project, user, valid, body.get("columns") is not None, runtime,
                           dispatch_export, with_export=record))
    except IntegrityError:
        if keyed is None:
            raise
        session.rollback()  # a concurrent request with the key won: answer its export
        winner = idempotency.replayed_export(session, keyed)
        if winner is None:
            raise
        return Asked(winner, replayed=True)


def retry_export(session: Session, export: Export, user: User | UserRecord, runtime: Runtime,
                 dispatch_export: Callable[[int], None]) -> Export:
    """A new export of `user` with the type, format, columns and options of a failed or canceled one
    (Conflict otherwise), checked again against today's catalogue: a column gone since is a 400 saying so.
    It names the old one (`retry_of`) and goes through the same cap and doorbell as any new export."""
    if export.status not in RETRYABLE:
        raise Conflict(f"export {export.id} is {export.status}: only a failed or canceled export can be retried")
    try:
        valid = validate_export_request(export.type, export.format, export.columns, user.lang,
                                        options=export.options)
    except InvalidInput as exc:
        raise InvalidInput([FieldProblem(problem.field_names, f"export {export.id} cannot be made again as it "
                                         f"was: {problem.message}", problem.classification)
                            for problem in exc.problems]) from None
    project = session.get_one(Project, export.project_id)
    return _make(session, project, user, valid, export.columns is not None, runtime, dispatch_export,
                 retry_of=export.id)
