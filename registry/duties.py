"""The registry's periodic duties, run by every worker: probe the registry, write the token
service's counts to the audit. A plain function of the runtime that the worker's periodic duties run."""

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
