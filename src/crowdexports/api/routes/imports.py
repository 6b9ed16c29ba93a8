"""Bulk import of a project's orders as JSON lines (SPEC §7): staff only, all or nothing per request."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["sync"])
