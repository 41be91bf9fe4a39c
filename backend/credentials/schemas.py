"""What the credentials API accepts and answers. Answers never hold a credential's values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CredentialInfo(BaseModel):
    id: str
    name: str
    type: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    fields_set: list[str] = Field(description="Fields that hold a value (the values are never returned)")
    readable: bool = Field(True, description="False: the stored data cannot be decrypted with the vault keys")


class CredentialCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    type: str = Field(description="A type from GET /credentials/types")
    values: dict[str, Any] = Field(default_factory=dict, description="Field values; see the type's schema")


class CredentialUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    values: dict[str, Any] | None = Field(
        None, description="Fields to change. Omitted fields keep their values; a secret sent as an empty "
                          "string is kept too (password boxes come back empty); null clears an optional field")


class TestOutcome(BaseModel):
    __test__ = False  # not a pytest test class

    ok: bool
    message: str


class AuthorizeUrl(BaseModel):
    authorize_url: str = Field(description="Open this URL in the browser to approve access")
