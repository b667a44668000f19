"""Every state Lockmaster stores or compares: builds, gate results, promotions, deliveries,
notifications and signing keys (plain enums; the rules that move between them live with the
feature that owns them, e.g. builder/states.py)."""

from __future__ import annotations

from enum import StrEnum


class BuildStatus(StrEnum):
    """Where a build is in its life."""

    QUEUED = "queued"
    CLONING = "cloning"
    BUILDING = "building"
    CHECKING = "checking"
    PUSHING = "pushing"
    STAGED = "staged"
    FAILED = "failed"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True when nothing more will happen to the build."""
        return self in FINAL_STATUSES

    @property
    def is_running(self) -> bool:
        """True while a worker is working on the build."""
        return self in RUNNING_STATUSES


RUNNING_STATUSES = frozenset(
    {BuildStatus.CLONING, BuildStatus.BUILDING, BuildStatus.CHECKING, BuildStatus.PUSHING}
)
FINAL_STATUSES = frozenset(
    {BuildStatus.STAGED, BuildStatus.FAILED, BuildStatus.REJECTED,
     BuildStatus.SUPERSEDED, BuildStatus.CANCELLED}
)


class CheckStatus(StrEnum):
    """How a gate judged the image; `fail` and (fail-closed) `error` keep it out of staging."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class PromotionStatus(StrEnum):
    """Where a request to move a digest into an environment is: waiting for approvals,
    decided, being copied, or ended."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    PROMOTING = "promoting"
    PROMOTED = "promoted"
    FAILED = "failed"


class DeliveryOutcome(StrEnum):
    """What became of one webhook delivery."""

    ACCEPTED = "accepted"
    IGNORED = "ignored"
    MALFORMED = "malformed"
    REJECTED = "rejected"


class NotificationStatus(StrEnum):
    """Whether a notification reached its channel."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class SigningKeyStatus(StrEnum):
    """An image-signing key signs while active and only verifies once retired."""

    ACTIVE = "active"
    RETIRED = "retired"
