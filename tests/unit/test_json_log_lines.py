"""The JSON log line format: timestamps, masking and the ids a line carries."""

import json
import logging

from ops.jsonlog import JsonFormatter, mask


def _record(created: float, message: str, **extra) -> logging.LogRecord:
    record = logging.LogRecord("lockmaster.test", logging.INFO, __file__, 1, message, (), None)
    record.created, record.msecs = created, (created % 1) * 1000
    record.__dict__.update(extra)
    return record


def test_each_line_has_its_own_second_and_millisecond():
    formatter = JsonFormatter()
    first = json.loads(formatter.format(_record(1_700_000_000.125, "one")))
    same = json.loads(formatter.format(_record(1_700_000_000.9, "two")))
    later = json.loads(formatter.format(_record(1_700_000_061.042, "three")))
    assert first["ts"] == "2023-11-14T22:13:20.125Z"
    assert same["ts"] == "2023-11-14T22:13:20.900Z"
    assert later["ts"] == "2023-11-14T22:14:21.042Z"


def test_credentials_are_masked_and_plain_messages_are_left_alone():
    assert mask("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert mask("url?token=s3cret&x=1") == "url?token=***&x=1"
    assert mask("sha256=" + "a" * 64) == "sha256=***"
    assert mask("POST /webhooks/github 202") == "POST /webhooks/github 202"


def test_an_access_line_carries_its_request_fields_and_id():
    line = json.loads(JsonFormatter().format(_record(
        1_700_000_000.0, "POST /webhooks/github 202", method="POST", path="/webhooks/github",
        status=202, duration_ms=1.5, request_id="abc-123")))
    assert line["request_id"] == "abc-123"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == (
        "POST", "/webhooks/github", 202, 1.5)
