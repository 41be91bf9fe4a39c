"""Fewer index entries per saved execution: execution_steps loses its index on execution_id (the unique
constraint's index leads with it), and executions' indexes on resume_at and parent_execution_id hold only
the rows that have one (issue #18)

Revision ID: 0017_lighter_execution_indexes
Revises: 0016_vendor_webhooks
Create Date: 2026-12-06 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_lighter_execution_indexes'
down_revision: str | None = '0016_vendor_webhooks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = ("resume_at", "parent_execution_id")


def upgrade() -> None:
    op.drop_index('ix_execution_steps_execution_id', table_name='execution_steps')
    for column in PARTIAL:
        condition = sa.text(f"{column} IS NOT NULL")
        op.drop_index(f'ix_executions_{column}', table_name='executions')
        op.create_index(f'ix_executions_{column}', 'executions', [column], sqlite_where=condition,
                        postgresql_where=condition)


def downgrade() -> None:
    for column in PARTIAL:
        op.drop_index(f'ix_executions_{column}', table_name='executions')
        op.create_index(f'ix_executions_{column}', 'executions', [column])
    op.create_index('ix_execution_steps_execution_id', 'execution_steps', ['execution_id'])
