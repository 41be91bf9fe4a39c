"""The HTTP shapes of variables. A secret's value is written, never read back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

MASK = "********"
KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Value = Annotated[str, StringConstraints(max_length=64 * 1024)]


class VariableCreate(BaseModel):
    key: Key = Field(description="Used as $vars.<key> in expressions: letters, digits, _; not a digit first")
    value: Value = ""
    is_secret: bool = False


class VariableUpdate(BaseModel):
    key: Key | None = None
    value: Value | None = None
    is_secret: bool | None = None


class VariableOut(BaseModel):
    id: str
    key: str
    value: str  # MASK for secrets
    is_secret: bool
    created_at: datetime
    updated_at: datetime


class VariableList(BaseModel):
    items: list[VariableOut]
    total: int
