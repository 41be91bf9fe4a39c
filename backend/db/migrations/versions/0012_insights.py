"""insights: the minutes a workflow's successful production run saves (analytics_time_saved)

Revision ID: 0012_insights
Revises: 0011_analytics
Create Date: 2026-12-05 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = '0012_insights'
down_revision: str | None = '0011_analytics'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_time_saved',
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('minutes_per_run', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=32), nullable=True),
    sa.Column('updated_at', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_analytics_time_saved_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_analytics_time_saved_updated_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_analytics_time_saved_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', name=op.f('pk_analytics_time_saved'))
    )
    with op.batch_alter_table('analytics_time_saved', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_time_saved_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('analytics_time_saved', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_time_saved_team_id'))

    op.drop_table('analytics_time_saved')
