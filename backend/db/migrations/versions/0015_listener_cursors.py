"""listener_cursors: where a listener trigger got to in its source (the IMAP trigger's UIDVALIDITY and last UID),
written with the execution of each message

Revision ID: 0015_listener_cursors
Revises: 0014_trigger_listeners
Create Date: 2026-12-05 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.base

revision: str = '0015_listener_cursors'
down_revision: str | None = '0014_trigger_listeners'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('listener_cursors',
    sa.Column('workflow_id', sa.String(length=32), nullable=False),
    sa.Column('node_id', sa.String(length=100), nullable=False),
    sa.Column('state', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
              nullable=False),
    sa.Column('updated_at', backend.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_listener_cursors_workflow_id_workflows'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workflow_id', 'node_id', name=op.f('pk_listener_cursors'))
    )


def downgrade() -> None:
    op.drop_table('listener_cursors')
