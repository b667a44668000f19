"""The recorder, webhook intake's back half: what the front door (webhooks/admit.py) put on the
intake stream is written to the database in batches (write.py), and the new builds are handed
to the workers (handover.py). It runs as a process beside each worker (process.py)."""

from webhooks.recorder.process import (
    NICENESS,
    RecorderProcess,
    record_all,
    recorder_loop,
    run_recorder,
    settle,
)
from webhooks.recorder.write import pending

__all__ = ["NICENESS", "RecorderProcess", "pending", "record_all", "recorder_loop",
           "run_recorder", "settle"]
