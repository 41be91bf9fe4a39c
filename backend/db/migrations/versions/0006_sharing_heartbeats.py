"""credential sharing within a team (credentials.shared_with_team, credential_shares) and worker_heartbeats

Revision ID: 0006_sharing_heartbeats
Revises: 0005_audit_event_id
Create Date: 2026-11-27 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.base

revision: str = "0006_sharing_heartbeats"
down_revision: str | None = "0005_audit_event_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shared_with_team", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        "credential_shares",
        sa.Column("credential_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", backend.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"],
                                name=op.f("fk_credential_shares_credential_id_credentials"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_credential_shares_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("credential_id", "user_id", name=op.f("pk_credential_shares")),
    )
    with op.batch_alter_table("credential_shares", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credential_shares_user_id"), ["user_id"], unique=False)
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", backend.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", backend.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeats_last_seen_at"), ["last_seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeats_last_seen_at"))
    op.drop_table("worker_heartbeats")
    with op.batch_alter_table("credential_shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credential_shares_user_id"))
    op.drop_table("credential_shares")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("shared_with_team")
