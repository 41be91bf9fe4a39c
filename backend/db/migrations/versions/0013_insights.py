"""insights: rollups with a duration histogram per row (analytics_execution_rollups per workflow,
analytics_team_rollups per team) instead of a row per duration bucket (analytics_rollups, copied over and
dropped), so a month of a team's Insights reads thousands of rows, not hundreds of thousands; and the
minutes a workflow's successful production run saves (analytics_time_saved)

Revision ID: 0013_insights
Revises: 0012_notification_rules
Create Date: 2026-12-05 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = '0013_insights'
down_revision: str | None = '0012_notification_rules'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = 15  # backend.analytics.models.DURATION_BUCKETS_MS, as of this revision
BUCKET_COLUMNS = [f'd{index}' for index in range(BUCKETS)]


def _counts() -> list[sa.Column]:
    return [sa.Column('executions', sa.Integer(), nullable=False),
            sa.Column('duration_ms', sa.Float(), nullable=False),
            sa.Column('items', sa.BigInteger(), nullable=False),
            sa.Column('time_saved_minutes', sa.Float(), nullable=False),
            sa.Column('d_unknown', sa.Integer(), nullable=False),
            *[sa.Column(name, sa.Integer(), nullable=False) for name in BUCKET_COLUMNS]]


def _key(with_workflow: bool) -> list[sa.Column]:
    return [sa.Column('team_id', sa.String(length=32), nullable=False),
            sa.Column('granularity', sa.String(length=4), nullable=False),
            sa.Column('period_start', backend.db.base.UtcDateTime(timezone=True), nullable=False),
            *([sa.Column('workflow_id', sa.String(length=32), nullable=False)] if with_workflow else []),
            sa.Column('mode', sa.String(length=16), nullable=False),
            sa.Column('status', sa.String(length=16), nullable=False)]


def _spread() -> str:
    """The narrow rows' executions summed into the bucket columns (-1: unknown duration)."""
    arms = ['sum(CASE WHEN duration_bucket = -1 THEN executions ELSE 0 END)']
    arms += [f'sum(CASE WHEN duration_bucket = {index} THEN executions ELSE 0 END)' for index in range(BUCKETS)]
    return ', '.join(arms)


def upgrade() -> None:
    op.create_table('analytics_execution_rollups', *_key(True), *_counts(),
    sa.PrimaryKeyConstraint('team_id', 'granularity', 'period_start', 'workflow_id', 'mode', 'status', name=op.f('pk_analytics_execution_rollups'))
    )
    with op.batch_alter_table('analytics_execution_rollups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_execution_rollups_team_id'), ['team_id', 'granularity', 'workflow_id', 'period_start'], unique=False)
    op.create_table('analytics_team_rollups', *_key(False), *_counts(),
    sa.PrimaryKeyConstraint('team_id', 'granularity', 'period_start', 'mode', 'status', name=op.f('pk_analytics_team_rollups'))
    )
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

    # what 0011's rollups counted, kept: one row per bucket becomes one column per bucket (no time saved was set
    # before this revision)
    histogram = ', '.join(['d_unknown', *BUCKET_COLUMNS])
    op.execute(f'INSERT INTO analytics_execution_rollups (team_id, granularity, period_start, workflow_id, mode, '
               f'status, executions, duration_ms, items, time_saved_minutes, {histogram}) '
               f'SELECT team_id, granularity, period_start, workflow_id, mode, status, sum(executions), '
               f'sum(duration_ms), sum(items), 0, {_spread()} FROM analytics_rollups '
               f'GROUP BY team_id, granularity, period_start, workflow_id, mode, status')
    op.execute(f'INSERT INTO analytics_team_rollups (team_id, granularity, period_start, mode, status, '
               f'executions, duration_ms, items, time_saved_minutes, {histogram}) '
               f'SELECT team_id, granularity, period_start, mode, status, sum(executions), sum(duration_ms), '
               f'sum(items), 0, {_spread()} FROM analytics_rollups GROUP BY team_id, granularity, period_start, mode, status')
    op.drop_table('analytics_rollups')


def downgrade() -> None:
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
    # one row per non-empty bucket; the summed duration and items go with the row of the first such bucket
    for bucket, column in [(-1, 'd_unknown'), *enumerate(BUCKET_COLUMNS)]:
        earlier = ' + '.join(['d_unknown', *BUCKET_COLUMNS[:max(bucket, 0)]]) if bucket >= 0 else '0'
        op.execute(f'INSERT INTO analytics_rollups (team_id, granularity, period_start, workflow_id, mode, status, '
                   f'duration_bucket, executions, duration_ms, items) '
                   f'SELECT team_id, granularity, period_start, workflow_id, mode, status, {bucket}, {column}, '
                   f'CASE WHEN {earlier} = 0 THEN duration_ms ELSE 0 END, CASE WHEN {earlier} = 0 THEN items ELSE 0 END '
                   f'FROM analytics_execution_rollups WHERE {column} > 0')
    with op.batch_alter_table('analytics_time_saved', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_time_saved_team_id'))
    op.drop_table('analytics_time_saved')
    op.drop_table('analytics_team_rollups')
    with op.batch_alter_table('analytics_execution_rollups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_execution_rollups_team_id'))
    op.drop_table('analytics_execution_rollups')
