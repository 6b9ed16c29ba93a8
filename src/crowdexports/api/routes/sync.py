"""The platform's users, projects and rewards synced in (SPEC §7), and acting for a user: staff only.

A PUT is an upsert by the platform's own id, committed alone: 201 when it made the row, 200 when the
row was there (changed or not). The bodies are checked by `sync.records` (shared with the CLI) by the
rules of crowdexports.rules, which api/schemas.py documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crowdexports.api.bodies import ExactJsonObject, OptionalJsonObject
from crowdexports.api.database import SessionDep
from crowdexports.api.errors import NO_STORE
from crowdexports.api.openapi import answers
from crowdexports.api.parameters import parse_id
from crowdexports.api.permissions import ActedUser, StaffWriter
from crowdexports.api.routes.credentials import api_key_resource
from crowdexports.api.schemas import (
    ApiKeyCreate,
    ApiKeyOut,
    ProjectOut,
    ProjectPut,
    RewardOut,
    RewardPut,
    TokenOut,
    UserOut,
    UserPut,
)
from crowdexports.api.state import RuntimeDep
from crowdexports.auth import accounts
from crowdexports.errors import Conflict
from crowdexports.models import Project, Reward, User
from crowdexports.money import to_decimal
from crowdexports.rules.api_keys import API_KEY
from crowdexports.rules.reader import Reader
from crowdexports.sync import records

router = APIRouter(prefix="/v1", tags=["sync"])


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


# Path ids as dependencies, declared before the body: a path that names nothing is 404 whatever the body.
def _user_id(user_id: str) -> int:
    return parse_id(user_id)


def _project_id(project_id: str) -> int:
    return parse_id(project_id)


def _reward_id(reward_id: str) -> int:
    return parse_id(reward_id)


Upsert = Callable[[Session, int, object], records.Upserted]


def _save(session: Session, upsert: Upsert, resource_id: int, payload: dict[str, Any], response: Response) -> None:
    """Upsert and commit; 201 when created. Two requests racing to create one id (or to give two ids one
    username) collide on a unique index: the loser runs once more, and sees the winner's row."""
    for last in (False, True):
        try:
            upserted = upsert(session, resource_id, payload)
            session.commit()
        except IntegrityError:
            session.rollback()
            if last:
                raise Conflict("A concurrent change collided with this one; send it again.") from None
            continue
        response.status_code = 201 if upserted is records.Upserted.CREATED else 200
        return


def user_resource(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "name": user.name, "lang": user.lang, "is_staff": user.is_staff,
            "is_active": user.is_active, "has_password": user.password_hash is not None}


def project_resource(project: Project) -> dict[str, Any]:
    return {"id": project.id, "owner_id": project.owner_id, "name": project.name, "slug": project.slug,
            "currency": project.currency, "timezone": project.timezone, "lang": project.lang}


def reward_resource(reward: Reward, currency: str) -> dict[str, Any]:
    return {"id": reward.id, "project_id": reward.project_id, "title": reward.title,
            "description": reward.description, "price": str(to_decimal(reward.price, currency)),
            "currency": currency}


@router.put("/users/{user_id}", response_model=UserOut, status_code=200, openapi_extra=_body(UserPut),
            responses={201: {"model": UserOut, "description": "Created"}})
@answers(400, 409)  # the body's values; a concurrent change
def put_user(caller: StaffWriter, user_id: Annotated[int, Depends(_user_id)], payload: ExactJsonObject,
             session: SessionDep, response: Response) -> dict[str, Any]:
    """Create or replace the platform's user `user_id`."""
    if user_id == caller.user.id and (payload.get("username") != caller.user.username
                                      or payload.get("is_staff") is not True or payload.get("is_active") is False):
        # The platform's user with the id of the account syncing: overwriting it would hand that
        # account's credentials to someone else (docs/decisions.md), or lock the sync out.
        raise Conflict(f"User {user_id} is the account making this request: it cannot be renamed, lose "
                       "staff or be made inactive through the sync. Sync with an account whose id the platform "
                       "does not use.")
    _save(session, records.upsert_user, user_id, payload, response)
    return user_resource(session.get_one(User, user_id))


@router.put("/projects/{project_id}", response_model=ProjectOut, status_code=200,
            openapi_extra=_body(ProjectPut),
            responses={201: {"model": ProjectOut, "description": "Created"}})
@answers(400, 409)  # the body's values; a concurrent change
def put_project(caller: StaffWriter, project_id: Annotated[int, Depends(_project_id)], payload: ExactJsonObject,
                session: SessionDep, response: Response) -> dict[str, Any]:
    """Create or replace the platform's project `project_id`; its owner must be synced first."""
    _save(session, records.upsert_project, project_id, payload, response)
    return project_resource(session.get_one(Project, project_id))


@router.put("/rewards/{reward_id}", response_model=RewardOut, status_code=200, openapi_extra=_body(RewardPut),
            responses={201: {"model": RewardOut, "description": "Created"}})
@answers(400, 409)  # the body's values; a concurrent change
def put_reward(caller: StaffWriter, reward_id: Annotated[int, Depends(_reward_id)], payload: ExactJsonObject,
               session: SessionDep, response: Response) -> dict[str, Any]:
    """Create or replace the platform's reward `reward_id`; its project must be synced first."""
    _save(session, records.upsert_reward, reward_id, payload, response)
    reward = session.get_one(Reward, reward_id)
    return reward_resource(reward, session.get_one(Project, reward.project_id).currency)


@router.post("/users/{user_id}/tokens", response_model=TokenOut)
def issue_tokens(user: ActedUser, session: SessionDep, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    """A token pair for a non-staff user, as `/oauth2/token/` answers: the platform acts for its
    logged-in user without their password. The refresh token works with any OAuth client."""
    response.headers.update(NO_STORE)
    return accounts.issue_tokens(session, user, None, runtime.settings)


@router.post("/users/{user_id}/apikeys", response_model=ApiKeyOut, status_code=201,
             openapi_extra={"requestBody": {"required": False, "content": {"application/json": {
                 "schema": ApiKeyCreate.model_json_schema()}}}})
def create_api_key(user: ActedUser, payload: OptionalJsonObject, session: SessionDep,
                   response: Response) -> dict[str, Any]:
    """A new read-only API key for a non-staff user, shown once; it may expire after `expires_in_days`."""
    reader = Reader()
    reader.closed(payload, API_KEY)
    reader.done()
    row, key = accounts.create_api_key(session, user, payload.get("expires_in_days"))
    response.headers.update(NO_STORE)
    return {**api_key_resource(row), "key": key}
