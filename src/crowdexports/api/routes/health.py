"""Liveness/readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from crowdexports import monitoring
from crowdexports.api.openapi import answers
from crowdexports.api.schemas import Health, HealthDown
from crowdexports.api.state import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, responses={503: {"model": HealthDown}})
@answers(503)
def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database, the queue and the storage answer; 503 otherwise, so traffic goes elsewhere."""
    report = monitoring.health(runtime)
    down = [name for name, state in report.items() if state != "ok"]
    if not down:
        return JSONResponse({"status": "ok", **report})
    problem = {"classification": "ServiceUnavailableError", "fieldNames": down,
               "message": f"unavailable: {', '.join(down)}"}
    return JSONResponse({"errors": [problem], "status": "unavailable", **report}, status_code=503,
                        headers={"Retry-After": "5"})


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
@answers(503)  # the counts are read from the database
def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text format: exports by status, durations, queue depth, email retries and failures."""
    return Response(monitoring.metrics_text(runtime), media_type=CONTENT_TYPE_LATEST)
