"""image proofs: signing keys, and the signature/attestation digests of builds and promotions

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("key_id", sa.String(length=64), primary_key=True),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
    )
    with op.batch_alter_table("builds") as batch_op:
        batch_op.add_column(sa.Column("proof", sa.JSON(), nullable=True))
    with op.batch_alter_table("promotions") as batch_op:
        batch_op.add_column(sa.Column("proof", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotions") as batch_op:
        batch_op.drop_column("proof")
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_column("proof")
    op.drop_table("signing_keys")
