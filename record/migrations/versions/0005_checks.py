"""check results, build artifacts and the offline advisory database

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('check_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('test', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['builds.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_results_build_id'), ['build_id'], unique=False)
    op.create_table('build_artifacts',
    sa.Column('build_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['builds.id'], ),
    sa.PrimaryKeyConstraint('build_id', 'name')
    )
    op.create_table('advisories',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('modified', sa.String(length=40), nullable=True),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('advisory_packages',
    sa.Column('advisory_id', sa.String(length=100), nullable=False),
    sa.Column('ecosystem', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['advisory_id'], ['advisories.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('advisory_id', 'ecosystem', 'name')
    )
    with op.batch_alter_table('advisory_packages', schema=None) as batch_op:
        batch_op.create_index('ix_advisory_packages_lookup', ['ecosystem', 'name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('advisory_packages', schema=None) as batch_op:
        batch_op.drop_index('ix_advisory_packages_lookup')
    op.drop_table('advisory_packages')
    op.drop_table('advisories')
    op.drop_table('build_artifacts')
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_results_build_id'))
    op.drop_table('check_results')
