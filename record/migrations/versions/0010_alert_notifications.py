"""alert notifications: a notification is about a build or about a registry event

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("build_id", existing_type=sa.String(length=36), nullable=True)
        batch_op.add_column(sa.Column("registry_event_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_notifications_registry_event_id", ["registry_event_id"])
        batch_op.create_foreign_key("fk_notifications_registry_event_id", "registry_events",
                                    ["registry_event_id"], ["id"])


def downgrade() -> None:
    # Alert notifications have no build: they cannot survive the older schema.
    op.execute("DELETE FROM notifications WHERE build_id IS NULL")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_constraint("fk_notifications_registry_event_id", type_="foreignkey")
        batch_op.drop_index("ix_notifications_registry_event_id")
        batch_op.drop_column("registry_event_id")
        batch_op.alter_column("build_id", existing_type=sa.String(length=36), nullable=False)
