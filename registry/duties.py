"""The registry's periodic duties, one of every worker's periodic duties: probe the registry,
write the token service's counts to the audit."""

from __future__ import annotations

import logging

from bootstrap import Runtime
from registry import tokenaudit
from registry.probe import probe_registry

log = logging.getLogger(__name__)


def registry_duties(runtime: Runtime) -> None:
    """One round of the duties; a failure is logged and retried next round."""
    for duty in (probe_registry, lambda r: tokenaudit.flush(r.redis, r.db)):
        try:
            duty(runtime)
        except Exception:  # the next round tries again; the worker must not stop for this
            log.exception("registry duty failed")
