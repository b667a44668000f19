"""The RQ worker Lockmaster runs: warm shutdown on SIGTERM (RQ's own), plus periodic
reconcile and a record of a build stopped by a second signal."""

from __future__ import annotations

import gc
import importlib
import logging

from rq import Worker

from bootstrap import Runtime
from builder.dispatch import build_job_id
from builder.reconcile import end_build, reconcile, release_build, remove_build_containers
from builder.states import BuildStatus
from notify.publish import requeue_pending
from webhooks.recording import RecorderProcess

RECONCILE_INTERVAL_SECONDS = 60
# Imported once by the worker, so that each forked work horse starts with them loaded
# (importing them in every horse cost each job ~35 ms).
JOB_MODULES = ("builder.jobs", "builder.retag", "notify.jobs", "promotion.jobs")
COLD_SHUTDOWN = ("stopped: the worker got a second stop signal (cold shutdown) during the "
                 "build; retry the build")
log = logging.getLogger(__name__)


class LockmasterWorker(Worker):
    """RQ's forking worker for one Lockmaster installation."""

    def __init__(self, queues, runtime: Runtime, recorder: RecorderProcess | None = None,
                 **kwargs):
        super().__init__(queues, connection=runtime.redis,
                         maintenance_interval=RECONCILE_INTERVAL_SECONDS, **kwargs)
        self.runtime = runtime
        self.recorder = recorder
        for module in JOB_MODULES:
            importlib.import_module(module)
        gc.freeze()  # a horse's collections then skip (and do not copy) the worker's objects

    def run_maintenance_tasks(self) -> None:
        """RQ's registry cleaning, a recorder that died started again, then reconcile the
        builds nobody works on."""
        super().run_maintenance_tasks()
        if self.recorder is not None and self.recorder.process is not None:
            self.recorder.ensure_running()
        try:
            for settled in reconcile(self.runtime):
                log.warning("reconcile: build %s (%s) %s", settled.build_id, settled.before,
                            settled.action)
            for notification_id in requeue_pending(self.runtime):
                log.warning("reconcile: notification %s queued again", notification_id)
        except Exception:  # reconcile is retried at the next maintenance run
            log.exception("reconcile failed")

    def request_force_stop(self, signum, frame) -> None:
        """Cold shutdown: RQ kills the work horse; record the build it was running."""
        job_id = self.get_current_job_id()
        try:
            super().request_force_stop(signum, frame)
        except SystemExit:
            build_id = _build_of(job_id)
            if build_id:
                remove_build_containers(self.runtime, build_id)
                release_build(self.runtime, build_id)
                end_build(self.runtime, build_id, BuildStatus.FAILED, COLD_SHUTDOWN)
            raise


def _build_of(job_id: str | None) -> str | None:
    prefix = build_job_id("")
    return job_id.removeprefix(prefix) if job_id and job_id.startswith(prefix) else None
