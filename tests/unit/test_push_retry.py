"""A push the registry refuses is tried again with growing pauses, then fails clearly."""

import pytest

from builder import push
from builder.errors import BuildFailure


class _Log:
    def __init__(self):
        self.lines = []

    def write(self, line):
        self.lines.append(line)


def test_a_refused_push_is_retried_with_growing_pauses_then_fails(monkeypatch):
    calls, pauses = [], []

    def refuse(*_args):
        calls.append(1)
        raise push.PushError("push of r:t failed: received unexpected HTTP status: 500")

    monkeypatch.setattr(push, "_push_first", refuse)
    monkeypatch.setattr(push.time, "sleep", pauses.append)
    log = _Log()
    with pytest.raises(BuildFailure, match=r"failed after 3 attempts: push of r:t failed.*500"):
        push.push_image(None, "img", "r", ["t"], log)
    assert (len(calls), pauses) == (3, [2.0, 4.0])
    assert any("trying again in 2s" in line for line in log.lines)


def test_a_push_that_succeeds_on_the_second_attempt_is_returned(monkeypatch):
    answers = [push.PushError("refused"), push.PushedImage("r", "sha256:ab", ["t"])]

    def answer(*_args):
        value = answers.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    monkeypatch.setattr(push, "_push_first", answer)
    monkeypatch.setattr(push.time, "sleep", lambda _s: None)
    assert push.push_image(None, "img", "r", ["t"], _Log()).digest == "sha256:ab"
