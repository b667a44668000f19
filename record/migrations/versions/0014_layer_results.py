"""layer results: the gates' findings per layer, keyed by its diff_id and reused across builds

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "layer_results",
        sa.Column("diff_id", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("diff_id", "kind"),
    )
    op.create_index("ix_layer_results_used_at", "layer_results", ["used_at"])


def downgrade() -> None:
    op.drop_index("ix_layer_results_used_at", table_name="layer_results")
    op.drop_table("layer_results")
