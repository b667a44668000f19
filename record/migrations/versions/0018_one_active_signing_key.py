"""one active image-signing key at most: two fresh worker hosts cannot both record theirs

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

KEYS = sa.table("signing_keys", sa.column("key_id", sa.String), sa.column("status", sa.String),
                sa.column("created_at", sa.DateTime), sa.column("retired_at", sa.DateTime))
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    # Hosts that raced before this index both recorded themselves: the first recorded stays
    # active, the others are retired (they still verify what they signed).
    bind = op.get_bind()
    active = bind.execute(sa.select(KEYS.c.key_id).where(KEYS.c.status == "active")
                          .order_by(KEYS.c.created_at, KEYS.c.key_id)).scalars().all()
    if len(active) > 1:
        bind.execute(KEYS.update().where(KEYS.c.key_id.in_(active[1:]))
                     .values(status="retired", retired_at=sa.func.now()))
    op.create_index("uq_signing_keys_one_active", "signing_keys", ["status"], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade() -> None:
    op.drop_index("uq_signing_keys_one_active", table_name="signing_keys")
