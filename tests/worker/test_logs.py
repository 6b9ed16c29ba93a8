"""Structured logs: one JSON object per line, carrying the export id while an export is worked on."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from crowdexports.logs import JsonFormatter, export_context


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("crowdexports.test")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_lines_are_json_with_the_export_id_inside_its_context(captured: io.StringIO) -> None:
    logger = logging.getLogger("crowdexports.test")
    logger.info("before")
    with export_context(42):
        logger.warning("working on %s", "it")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
    logger.info("after")
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [line.get("export_id") for line in lines] == [None, 42, 42, None]
    assert lines[1]["message"] == "working on it" and lines[1]["level"] == "warning"
    assert "ValueError: boom" in lines[2]["exception"]
