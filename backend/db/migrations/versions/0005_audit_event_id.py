"""audit_log.event_id: the audit.log event a row was written from, unique so redelivery is a no-op

Revision ID: 0005_audit_event_id
Revises: 0004_schedules
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audit_event_id"
down_revision: str | None = "0004_schedules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_log_event_id"), ["event_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_event_id"))
        batch_op.drop_column("event_id")
