"""executions.lost_attempts and last_attempt_error: an execution whose workers keep dying fails

Revision ID: 0009_lost_attempts
Revises: 0008_two_factor
Create Date: 2026-12-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_lost_attempts"
down_revision: str | None = "0008_two_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lost_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_attempt_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("last_attempt_error")
        batch_op.drop_column("lost_attempts")
