"""The RQ worker Lockmaster runs: jobs in the worker's own process, warm shutdown on SIGTERM
(RQ's own), periodic duties (reconcile, and what the entry point registers) in a thread that ticks
whether the worker is idle or busy, and a record of a build stopped by a second signal."""

from __future__ import annotations

import gc
import importlib
import logging

from rq import SimpleWorker

from bootstrap import Runtime
from builder.dispatch import build_job_id
from builder.duties import Duties
from builder.reconcile import end_build, reconcile, release_build, remove_build_containers
from notify.publish import requeue_pending
from states import BuildStatus

MAINTENANCE_INTERVAL_SECONDS = 60
# A build whose worker died is settled within heartbeat TTL + this (the issue asks for two
# minutes); one worker of all reconciles per interval.
RECONCILE_INTERVAL_SECONDS = 30
# Imported once by the worker, so that no job pays for importing them.
JOB_MODULES = ("builder.jobs", "builder.retag", "notify.jobs", "promotion.jobs")
COLD_SHUTDOWN = ("stopped: the worker got a second stop signal (cold shutdown) during the "
                 "build; retry the build")
log = logging.getLogger(__name__)


class ColdShutdown(SystemExit):
    """Raised in the running job by a second stop signal: unwinding it ends the build's work
    (its containers are removed, its transactions rolled back) before the build is recorded."""


class LockmasterWorker(SimpleWorker):
    """RQ's worker for one Lockmaster installation, running each job in its own process: a
    forked work horse started every job with cold connections and caches (~60 ms a build).
    A job that kills the process loses its build to reconcile, as a lost worker does."""

    def __init__(self, queues, runtime: Runtime, **kwargs):
        super().__init__(queues, connection=runtime.redis,
                         maintenance_interval=MAINTENANCE_INTERVAL_SECONDS, **kwargs)
        self.runtime = runtime
        self.duties = Duties(runtime.redis)
        self.duties.register("reconcile", RECONCILE_INTERVAL_SECONDS, self._reconcile,
                             shared=True)
        self.running_job_id: str | None = None
        self.cold_shutdown = False
        for module in JOB_MODULES:
            importlib.import_module(module)
        gc.freeze()  # collections during jobs then skip the worker's start-up objects

    def work(self, burst: bool = False, **kwargs) -> bool:
        """RQ's loop, with the periodic duties ticking beside it (a burst run has none: it
        reconciles once at its start, in RQ's maintenance)."""
        if not burst:
            self.duties.start()
        try:
            return super().work(burst=burst, **kwargs)
        finally:
            self.duties.stop()

    def run_maintenance_tasks(self) -> None:
        """RQ's registry cleaning; a burst worker also reconciles here, having no duties."""
        super().run_maintenance_tasks()
        if not self.duties.running:
            try:
                self._reconcile()
            except Exception:  # a burst run is short; the next worker's duties reconcile
                log.exception("reconcile failed")

    def _reconcile(self) -> None:
        """Settle the builds nobody works on, and queue again lost notifications."""
        for settled in reconcile(self.runtime):
            log.warning("reconcile: build %s (%s) %s", settled.build_id, settled.before,
                        settled.action)
        for notification_id in requeue_pending(self.runtime):
            log.warning("reconcile: notification %s queued again", notification_id)

    def execute_job(self, job, queue) -> None:
        """Run the job here; after a cold shutdown stopped it, record its build and stop."""
        self.running_job_id = job.id
        try:
            super().execute_job(job, queue)
        finally:
            self.running_job_id = None
            if self.cold_shutdown:
                self._record_stopped_build(job.id)
        if self.cold_shutdown:
            raise ColdShutdown()

    def request_force_stop(self, signum, frame) -> None:
        """Cold shutdown: stop the running job by raising ColdShutdown in it. The build is
        recorded once the job has unwound, never from inside this signal handler (the job
        may hold the build's row lock or a connection at this moment)."""
        try:
            super().request_force_stop(signum, frame)
        except SystemExit:
            if self.running_job_id is None:
                raise
            self.cold_shutdown = True
            raise ColdShutdown() from None

    def _record_stopped_build(self, job_id: str) -> None:
        build_id = _build_of(job_id)
        if build_id:
            remove_build_containers(self.runtime, build_id)
            release_build(self.runtime, build_id)
            end_build(self.runtime, build_id, BuildStatus.FAILED, COLD_SHUTDOWN)


def _build_of(job_id: str | None) -> str | None:
    prefix = build_job_id("")
    return job_id.removeprefix(prefix) if job_id and job_id.startswith(prefix) else None
