from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, TimestampMixin, utcnow


class Credential(IdMixin, TimestampMixin, Base):
    """A secret for nodes. Only AES-256-GCM ciphertext is stored, tagged with its key id."""

    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("team_id", "name"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    # True: every member of the team may use it. False: only its owner (created_by), the members in
    # credential_shares and the team's admins.
    shared_with_team: Mapped[bool] = mapped_column(default=True, server_default=true())


class CredentialShare(Base):
    """One team member a private credential is shared with (besides its owner and the team's admins)."""

    __tablename__ = "credential_shares"

    credential_id: Mapped[str] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
