from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LinkRequest(BaseModel):
    """A binary reference as an item carries it (``binary.<name>`` of a step's data)."""

    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    execution_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    file_name: str = Field("", max_length=255)
    mime_type: str = Field("application/octet-stream", max_length=255)


class LinkOut(BaseModel):
    url: str  # relative to the API's origin; valid until expires_at, for anyone who has it
    expires_at: datetime
    size: int
