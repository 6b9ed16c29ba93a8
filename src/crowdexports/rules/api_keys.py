"""The body of `POST /v1/users/{id}/apikeys`, and the keys made by `crowdexports apikeys create`."""

from __future__ import annotations

from crowdexports.rules.kinds import Body, Integer

MAX_DAYS = 3650
EXPIRES_IN_DAYS = Integer("expires_in_days", high=MAX_DAYS, rule=f"must be from 1 to {MAX_DAYS} days",
                          required=False)

API_KEY = Body((EXPIRES_IN_DAYS,))
