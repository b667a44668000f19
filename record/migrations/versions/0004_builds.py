"""builds: stage times, recorded build args, retry link, who cancelled, attempts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 11:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stages', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('build_args', sa.JSON(), nullable=False,
                                      server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column('retry_of', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('cancel_requested_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
        batch_op.create_index(batch_op.f('ix_builds_retry_of'), ['retry_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_builds_retry_of'))
        for column in ('attempts', 'cancelled_by', 'cancel_requested_at', 'retry_of',
                       'build_args', 'stages'):
            batch_op.drop_column(column)
