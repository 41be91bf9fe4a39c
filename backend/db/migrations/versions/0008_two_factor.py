"""two-factor sign-in: two_factor_secrets, recovery_codes, teams.require_2fa, refresh_tokens.auth_method

Revision ID: 0008_two_factor
Revises: 0007_webhook_overlaps
Create Date: 2026-12-02 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db.base

revision: str = "0008_two_factor"
down_revision: str | None = "0007_webhook_overlaps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "two_factor_secrets",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("last_used_step", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", backend.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backend.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_two_factor_secrets_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor_secrets")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", backend.db.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", backend.db.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
        sa.UniqueConstraint("user_id", "code_hash", name=op.f("uq_recovery_codes_user_id_code_hash")),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_codes_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("require_2fa", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auth_method", sa.String(length=32), server_default="password",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("auth_method")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("require_2fa")
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_codes_user_id"))
    op.drop_table("recovery_codes")
    op.drop_table("two_factor_secrets")
