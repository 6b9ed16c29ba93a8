from __future__ import annotations

import pytest

T0 = 1_000_020.0  # the start of a minute window (16,667 x 60)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)
