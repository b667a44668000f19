"""build numbers: `acme/web #42`, unique per repository, existing builds numbered in id order

Revision ID: 0013
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "build_counters",
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("repository"),
    )
    with op.batch_alter_table("builds") as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
    # Ids are time-ordered, so id order is the order the builds were recorded in.
    # UPDATE … FROM (PostgreSQL, SQLite 3.33+): the numbering is computed once, not per row.
    op.execute("""
        UPDATE builds SET number = numbered.n
        FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY repository ORDER BY id) AS n
              FROM builds) AS numbered
        WHERE numbered.id = builds.id
    """)
    op.execute("""
        INSERT INTO build_counters (repository, last)
        SELECT repository, MAX(number) FROM builds GROUP BY repository
    """)
    with op.batch_alter_table("builds") as batch_op:
        batch_op.create_unique_constraint("uq_builds_repository_number", ["repository", "number"])


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_constraint("uq_builds_repository_number", type_="unique")
        batch_op.drop_column("number")
    op.drop_table("build_counters")
