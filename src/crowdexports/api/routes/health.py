"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crowdexports.api.deps import RuntimeDep
from crowdexports.api.schemas import Health, errors
from crowdexports.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses=errors(503))
def healthz(runtime: RuntimeDep) -> dict[str, str]:
    """200 when the database answers; 503 otherwise, so traffic goes elsewhere."""
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise Unavailable("The database cannot be reached.") from exc
    return {"status": "ok", "database": "ok"}
