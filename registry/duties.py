"""The registry's periodic duties, run by every worker: probe the registry, write the token
service's counts to the audit. Plain functions of the runtime, so any periodic loop can run them."""

from __future__ import annotations

import logging
import threading

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


def run_in_background(runtime: Runtime) -> threading.Event:
    """Run the duties every `registry.probe_seconds` in a daemon thread of this process, idle
    or busy; set the returned event to stop. (A stand-in until the worker's own periodic loop
    runs them.)"""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            registry_duties(runtime)
            stop.wait(runtime.settings.registry.probe_seconds)

    threading.Thread(target=loop, name="registry-duties", daemon=True).start()
    return stop
