"""The schedules' tests: a runtime over the selected stack's database, storage and outbox (the web tests'
fixture)."""

from __future__ import annotations

from tests.web.conftest import runtime

__all__ = ["runtime"]
