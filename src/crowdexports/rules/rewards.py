"""A reward's fields: `PUT /v1/rewards/{id}` and `crowdexports import rewards`."""

from __future__ import annotations

from crowdexports.rules.kinds import Amount, Body, I18n, Integer

PROJECT_ID = Integer("project_id")
TITLE = I18n("title")
DESCRIPTION = I18n("description")  # HTML allowed
PRICE = Amount("price")  # in the project's currency

# `currency` is its project's.
REWARD = Body((PROJECT_ID, TITLE, DESCRIPTION, PRICE), read_only=("id", "currency"))
