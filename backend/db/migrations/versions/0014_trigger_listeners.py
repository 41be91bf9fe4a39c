"""trigger_listeners: one row per listener trigger (Redis Trigger, Kafka Trigger) of an active workflow,
with its status and last error

Revision ID: 0014_trigger_listeners
Revises: 0013_insights
Create Date: 2026-12-05 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = '0014_trigger_listeners'
down_revision: str | None = '0013_insights'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('trigger_listeners',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('version_id', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('node_type', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('last_message_at', backend.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_trigger_listeners_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_trigger_listeners_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_listeners')),
    sa.UniqueConstraint('workflow_id', 'node_id', name=op.f('uq_trigger_listeners_workflow_id_node_id'))
    )
    with op.batch_alter_table('trigger_listeners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trigger_listeners_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trigger_listeners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trigger_listeners_team_id'))
    op.drop_table('trigger_listeners')
