"""schedules: backlog of runs held back by overlap_policy "queue"

Revision ID: 0004_schedules
Revises: 0001
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_schedules"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "backlog", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("backlog_size", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch_op.create_index(batch_op.f("ix_schedules_backlog_size"), ["backlog_size"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schedules_backlog_size"))
        batch_op.drop_column("backlog_size")
        batch_op.drop_column("backlog")
