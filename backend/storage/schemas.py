from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class PreviewOut(BaseModel):
    kind: Literal["text", "pdf"]
    text: str  # text: the first bytes decoded (UTF-8, bad bytes replaced); pdf: the first page's text
    truncated: bool  # text: the file goes on past what is shown
    size: int
    pages: int | None = None  # pdf: how many pages it has
