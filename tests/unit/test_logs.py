"""Log lines are single JSON objects carrying the extras of the call."""

from __future__ import annotations

import json
import logging
import sys

from service.logs import JsonFormatter


def test_a_record_is_one_json_line_with_its_extras() -> None:
    record = logging.makeLogRecord(
        {"name": "service.x", "levelname": "INFO", "msg": "task %s", "args": ("queued",)}
    )
    record.task_id = "abc"
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "task queued"
    assert line["task_id"] == "abc"
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


def test_exceptions_stay_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]
