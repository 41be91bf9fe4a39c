"""analytics: Insights rollups (executions per team, workflow, hour and day, by mode, status and
duration bucket; failures per day and node) and the analytics.events already counted

Revision ID: 0011_analytics
Revises: 0010_billing
Create Date: 2026-12-05 12:04:33.574130
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = '0011_analytics'
down_revision: str | None = '0010_billing'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_failures',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('day', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('failed_node', sa.String(length=200), nullable=False),
    sa.Column('failures', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'day', 'workflow_id', 'failed_node', name=op.f('pk_analytics_failures'))
    )
    op.create_table('analytics_rollups',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('granularity', sa.String(length=4), nullable=False),
    sa.Column('period_start', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration_bucket', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('executions', sa.BigInteger(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('items', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('team_id', 'granularity', 'period_start', 'workflow_id', 'mode', 'status', 'duration_bucket', name=op.f('pk_analytics_rollups'))
    )
    op.create_table('analytics_seen',
    sa.Column('event_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seen_at', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_analytics_seen'))
    )
    with op.batch_alter_table('analytics_seen', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_seen_seen_at'), ['seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('analytics_seen', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_seen_seen_at'))

    op.drop_table('analytics_seen')
    op.drop_table('analytics_rollups')
    op.drop_table('analytics_failures')
