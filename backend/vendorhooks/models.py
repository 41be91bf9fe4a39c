from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, IdMixin, utcnow


class VendorWebhook(IdMixin, Base):
    """A vendor trigger node (GitHub, Stripe, Slack, Telegram) and its webhook at the vendor, if registered.

    The row outlives deactivation (status ``not_registered``) so the editor can show the last error.
    """

    __tablename__ = "vendor_webhooks"
    __table_args__ = (UniqueConstraint("workflow_id", "node_id"),)

    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(100))
    node_type: Mapped[str] = mapped_column(String(100))
    vendor: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="not_registered")  # registered | not_registered
    path: Mapped[str] = mapped_column(String(200), default="")  # under /webhook/, while registered
    external_id: Mapped[str] = mapped_column(String(200), default="")  # the vendor's id of the hook
    credential_id: Mapped[str | None] = mapped_column(String(32))
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)  # as registered: what unregistering needs
    key_id: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)  # AES-GCM sealed (backend/credentials/crypto.py)
    error: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
