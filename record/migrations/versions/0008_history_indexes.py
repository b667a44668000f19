"""indexes of the history API

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_builds_pusher_id", "builds", ["pusher", "id"]),
    ("ix_builds_ref_id", "builds", ["ref", "id"]),
    ("ix_builds_image_repository_id", "builds", ["image_repository", "id"]),
    ("ix_promotions_digest", "promotions", ["digest"]),
    ("ix_promotions_timeline", "promotions", ["image", "to_environment", "status",
                                              "finished_at"]),
    ("ix_audit_events_actor_id", "audit_events", ["actor", "id"]),
    ("ix_audit_events_action_id", "audit_events", ["action", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
