"""webhooks: stored deliveries, build triggers, dedupe of builds by commit and settings

Revision ID: 0003
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('headers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('body', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('replay_of', sa.Integer(), nullable=True))
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=400), nullable=True))
        batch_op.create_unique_constraint('uq_builds_dedupe_key', ['dedupe_key'])
    op.create_table('build_triggers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.String(length=36), nullable=False),
    sa.Column('delivery_pk', sa.Integer(), nullable=True),
    sa.Column('repository', sa.String(length=255), nullable=False),
    sa.Column('ref', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['builds.id'], ),
    sa.ForeignKeyConstraint(['delivery_pk'], ['deliveries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('build_triggers', schema=None) as batch_op:
        batch_op.create_index('ix_build_triggers_build_id', ['build_id'], unique=False)
        batch_op.create_index('ix_build_triggers_delivery_pk', ['delivery_pk'], unique=False)
        batch_op.create_index('ix_build_triggers_repository_ref', ['repository', 'ref'],
                              unique=False)
    # Builds made before this revision answer the one ref they were made for.
    op.execute("INSERT INTO build_triggers (build_id, delivery_pk, repository, ref) "
               "SELECT id, delivery_pk, repository, ref FROM builds")


def downgrade() -> None:
    with op.batch_alter_table('build_triggers', schema=None) as batch_op:
        batch_op.drop_index('ix_build_triggers_repository_ref')
        batch_op.drop_index('ix_build_triggers_delivery_pk')
        batch_op.drop_index('ix_build_triggers_build_id')
    op.drop_table('build_triggers')
    with op.batch_alter_table('builds', schema=None) as batch_op:
        batch_op.drop_constraint('uq_builds_dedupe_key', type_='unique')
        batch_op.drop_column('dedupe_key')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('replay_of')
        batch_op.drop_column('body')
        batch_op.drop_column('headers')
