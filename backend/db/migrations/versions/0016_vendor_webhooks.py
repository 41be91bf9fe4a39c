"""vendor_webhooks: one row per vendor trigger node (GitHub, Stripe, Slack, Telegram) with its registration at
the vendor, its sealed secret and its last error

Revision ID: 0016_vendor_webhooks
Revises: 0015_listener_cursors
Create Date: 2026-12-05 18:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = '0016_vendor_webhooks'
down_revision: str | None = '0015_listener_cursors'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vendor_webhooks',
    sa.Column('team_id', sa.String(length=32), nullable=False),
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('node_type', sa.String(length=100), nullable=False),
    sa.Column('vendor', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('credential_id', sa.String(length=32), nullable=True),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=True),
    sa.Column('secret', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('registered_at', backend.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_vendor_webhooks_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_vendor_webhooks_workflow_id_workflows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_webhooks')),
    sa.UniqueConstraint('workflow_id', 'node_id', name=op.f('uq_vendor_webhooks_workflow_id_node_id'))
    )
    with op.batch_alter_table('vendor_webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_webhooks_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vendor_webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_webhooks_team_id'))
    op.drop_table('vendor_webhooks')
