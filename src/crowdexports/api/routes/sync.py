"""The platform's users, projects and rewards synced in (SPEC §7), and acting for a user: staff only."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1", tags=["sync"])
