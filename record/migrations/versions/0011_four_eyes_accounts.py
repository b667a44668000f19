"""four-eyes by account ids: the pusher's Git host accounts on builds, the repository of audit
events (reads follow a user's repository scope)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("builds") as batch_op:
        batch_op.add_column(sa.Column("pusher_accounts", sa.JSON(), nullable=True))
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("repository", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_audit_events_repository_id", ["repository", "id"])
    # Events about a build name it as 'build <id>': give them its repository.
    op.execute("UPDATE audit_events SET repository = (SELECT builds.repository FROM builds "
               "WHERE builds.id = substr(audit_events.target, 7)) "
               "WHERE audit_events.target LIKE 'build %'")
    # Every API token already belongs to a user (api_tokens.user_id is NOT NULL since 0006);
    # one whose user is gone goes to the first admin, so `tokens list` shows it for revoking.
    op.execute("UPDATE api_tokens SET user_id = (SELECT min(id) FROM users WHERE role = 'admin') "
               "WHERE user_id NOT IN (SELECT id FROM users) "
               "AND EXISTS (SELECT 1 FROM users WHERE role = 'admin')")


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_index("ix_audit_events_repository_id")
        batch_op.drop_column("repository")
    with op.batch_alter_table("builds") as batch_op:
        batch_op.drop_column("pusher_accounts")
