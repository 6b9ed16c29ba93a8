"""Access checks as dependencies: the resource a route acts on, looked up and checked before the route runs.

Chained dependencies keep routes a few lines and make every route check access the same way; the rules
of who may see a project or an export are `exports.access`'s. Checks raise domain errors, which
`api/errors.py` maps; each is marked with the statuses it answers (`api/openapi.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from crowdexports.api.authentication import Caller, CallerDep
from crowdexports.api.database import SessionDep, in_database
from crowdexports.api.openapi import answers
from crowdexports.api.parameters import parse_id
from crowdexports.api.state import RuntimeDep
from crowdexports.errors import Conflict, Forbidden, NotFound
from crowdexports.exports import access, presets
from crowdexports.models import ApiKey, Export, ExportPreset, ExportSchedule, Project, User, WebhookEndpoint
from crowdexports.schedules import store as schedules
from crowdexports.webhooks import endpoints


def _check_writer(caller: Caller) -> None:
    if not caller.can_write:
        raise Forbidden("Writing needs a Bearer token: API keys and passwords give read-only access.")


@answers(403)
async def own_project_for_write(project_id: str, runtime: RuntimeDep, session: SessionDep,
                                caller: CallerDep) -> Project:
    """The project for its owner only (an export goes to whoever asks), with a Bearer token."""
    project = await in_database(runtime, access.owned_project, session, parse_id(project_id), caller.user,
                                staff_allowed=False)
    _check_writer(caller)
    return project


async def visible_export(export_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> Export:
    return await in_database(runtime, access.visible_export, session, parse_id(export_id), caller.user)


@answers(403)
async def cancelable_export(export: Annotated[Export, Depends(visible_export)], caller: CallerDep) -> Export:
    """Whoever sees the export (its project's owner, staff; the rest got 404) cancels it, with a Bearer token."""
    _check_writer(caller)
    return export


@answers(403)
async def retryable_export(export_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> Export:
    """Its project's owner, with a Bearer token (`access.owned_export`)."""
    export = await in_database(runtime, access.owned_export, session, parse_id(export_id), caller.user)
    _check_writer(caller)
    return export


@answers(403)
async def staff_writer(caller: CallerDep) -> Caller:
    """Staff with a Bearer token: the platform's sync account (SPEC §7)."""
    _check_writer(caller)
    if not caller.user.is_staff:
        raise Forbidden("Only staff may sync the platform's data.")
    return caller


StaffWriter = Annotated[Caller, Depends(staff_writer)]


@answers(403, 409)
async def acted_user(user_id: str, runtime: RuntimeDep, session: SessionDep, caller: StaffWriter) -> User:
    """A user the platform acts for: credentials are minted for active non-staff users only. Staff may make
    anyone staff with a PUT, but a staff account's own credentials come from its password, never from
    another account's token (docs/decisions.md)."""
    user = await in_database(runtime, session.get, User, parse_id(user_id))
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if user.is_staff:
        raise Forbidden("Credentials of a staff account are not issued for it: use its password.")
    if not user.is_active:
        raise Conflict(f"User {user.id} is not active: no credentials are issued for it.")
    return user


async def visible_api_key(api_key_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> ApiKey:
    """A key for its owner and staff; to anyone else it does not exist (whose keys exist is private)."""
    key = await in_database(runtime, session.get, ApiKey, parse_id(api_key_id))
    if key is None or not (caller.user.is_staff or key.user_id == caller.user.id):
        raise NotFound(f"API key {api_key_id} does not exist")
    return key


@answers(403)
async def revocable_api_key(key: Annotated[ApiKey, Depends(visible_api_key)], caller: CallerDep) -> ApiKey:
    _check_writer(caller)
    return key


async def presets_project(project_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> Project:
    """A project whose presets the caller may read: its owner and staff (exports.presets)."""
    return await in_database(runtime, presets.presets_project, session, parse_id(project_id), caller.user,
                             write=False)


@answers(403)
async def presets_project_for_write(project_id: str, runtime: RuntimeDep, session: SessionDep,
                                    caller: CallerDep) -> Project:
    """A project whose presets the caller may change: its owner, with a Bearer token."""
    project = await in_database(runtime, presets.presets_project, session, parse_id(project_id), caller.user,
                                write=True)
    _check_writer(caller)
    return project


async def visible_preset(preset_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> ExportPreset:
    return await in_database(runtime, presets.visible_preset, session, parse_id(preset_id), caller.user,
                             write=False)


@answers(403)
async def writable_preset(preset_id: str, runtime: RuntimeDep, session: SessionDep,
                          caller: CallerDep) -> ExportPreset:
    preset = await in_database(runtime, presets.visible_preset, session, parse_id(preset_id), caller.user,
                               write=True)
    _check_writer(caller)
    return preset


@answers(403)
async def writer(caller: CallerDep) -> Caller:
    """Any user with a Bearer token."""
    _check_writer(caller)
    return caller


async def own_webhook_endpoint(endpoint_id: str, runtime: RuntimeDep, session: SessionDep,
                               caller: CallerDep) -> WebhookEndpoint:
    """An endpoint for its owner only; to anyone else, staff included, it does not exist (webhooks.endpoints)."""
    return await in_database(runtime, endpoints.own_endpoint, session, parse_id(endpoint_id), caller.user)


@answers(403)
async def writable_webhook_endpoint(endpoint: Annotated[WebhookEndpoint, Depends(own_webhook_endpoint)],
                                    caller: CallerDep) -> WebhookEndpoint:
    _check_writer(caller)
    return endpoint


async def schedules_project(project_id: str, runtime: RuntimeDep, session: SessionDep, caller: CallerDep) -> Project:
    """A project whose export schedules the caller may read: its owner and staff (schedules.store)."""
    return await in_database(runtime, schedules.schedules_project, session, parse_id(project_id), caller.user,
                             write=False)


@answers(403)
async def schedules_project_for_write(project_id: str, runtime: RuntimeDep, session: SessionDep,
                                      caller: CallerDep) -> Project:
    """A project whose export schedules the caller may change: its owner, with a Bearer token."""
    project = await in_database(runtime, schedules.schedules_project, session, parse_id(project_id), caller.user,
                                write=True)
    _check_writer(caller)
    return project


async def visible_schedule(schedule_id: str, runtime: RuntimeDep, session: SessionDep,
                           caller: CallerDep) -> ExportSchedule:
    return await in_database(runtime, schedules.visible_schedule, session, parse_id(schedule_id), caller.user,
                             write=False)


@answers(403)
async def writable_schedule(schedule_id: str, runtime: RuntimeDep, session: SessionDep,
                            caller: CallerDep) -> ExportSchedule:
    schedule = await in_database(runtime, schedules.visible_schedule, session, parse_id(schedule_id), caller.user,
                                 write=True)
    _check_writer(caller)
    return schedule


OwnProjectForWrite = Annotated[Project, Depends(own_project_for_write)]
CancelableExport = Annotated[Export, Depends(cancelable_export)]
RetryableExport = Annotated[Export, Depends(retryable_export)]
ActedUser = Annotated[User, Depends(acted_user)]
RevocableApiKey = Annotated[ApiKey, Depends(revocable_api_key)]
PresetsProject = Annotated[Project, Depends(presets_project)]
PresetsProjectForWrite = Annotated[Project, Depends(presets_project_for_write)]
VisiblePreset = Annotated[ExportPreset, Depends(visible_preset)]
WritablePreset = Annotated[ExportPreset, Depends(writable_preset)]
Writer = Annotated[Caller, Depends(writer)]
OwnWebhookEndpoint = Annotated[WebhookEndpoint, Depends(own_webhook_endpoint)]
WritableWebhookEndpoint = Annotated[WebhookEndpoint, Depends(writable_webhook_endpoint)]
SchedulesProject = Annotated[Project, Depends(schedules_project)]
SchedulesProjectForWrite = Annotated[Project, Depends(schedules_project_for_write)]
VisibleSchedule = Annotated[ExportSchedule, Depends(visible_schedule)]
WritableSchedule = Annotated[ExportSchedule, Depends(writable_schedule)]
