"""The one shape of every gate: a name and run(context) → CheckResult, plus their registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from states import CheckStatus


@dataclass
class CheckResult:
    """What one gate (or one regression test) found."""

    name: str
    status: CheckStatus
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    test: str | None = None
    duration_ms: int = 0

    def blocks(self, fail_closed: bool) -> bool:
        """True when this result keeps the image out of staging."""
        return self.status == CheckStatus.FAIL or (
            fail_closed and self.status == CheckStatus.ERROR)


class GateError(Exception):
    """A gate could not do its work (a tool missing or crashing); becomes an `error` result."""


# A gate gives one result, or one per item it checks (the tests gate: one per test).
Gate = Callable[[Any], "CheckResult | list[CheckResult]"]
_GATES: dict[str, Gate] = {}


def gate(name: str) -> Callable[[Gate], Gate]:
    """Register a gate's run function under its name."""

    def register(run: Gate) -> Gate:
        _GATES[name] = run
        return run

    return register


def registered_gates() -> dict[str, Gate]:
    """Every registered gate by name (a gate registers when its module is imported: the runner
    imports them all, so this module never imports the gates that import it)."""
    return dict(_GATES)


def worst(statuses: list[CheckStatus]) -> CheckStatus:
    """The most severe of the statuses (pass when there are none)."""
    order = [CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.ERROR]
    return max(statuses, key=order.index, default=CheckStatus.PASS)
