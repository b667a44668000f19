"""Handing promotions to RQ workers on the `promotions` queue (separate from builds)."""

from __future__ import annotations

from bootstrap import PROMOTIONS_QUEUE, Runtime

JOB_TIMEOUT_SECONDS = 1800


def promotion_job_id(promotion_id: int) -> str:
    """The RQ job id of a promotion (stable, so it never has two live jobs)."""
    return f"promotion-{promotion_id}"


def enqueue_promotion(runtime: Runtime, promotion_id: int) -> None:
    """Queue the promote job; raises if Redis does not answer."""
    runtime.queue(PROMOTIONS_QUEUE).enqueue_call(
        "promotion.jobs.run_promotion",
        args=(promotion_id,),
        job_id=promotion_job_id(promotion_id),
        timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        description=f"promotion {promotion_id}",
    )
