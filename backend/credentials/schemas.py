"""What the credentials API accepts and answers. Answers never hold a credential's values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UserRef(BaseModel):
    id: str
    name: str
    email: str


class WorkflowUse(BaseModel):
    id: str
    name: str
    active: bool
    nodes: list[str] = Field(description="Names of the nodes that use the credential")


class CredentialInfo(BaseModel):
    id: str
    name: str
    type: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    fields_set: list[str] = Field(description="Fields that hold a value (the values are never returned)")
    readable: bool = Field(True, description="False: the stored data cannot be decrypted with the vault keys")
    owner: UserRef | None = Field(None, description="Who created it (None: that account was deleted)")
    shared_with_team: bool = Field(True, description="True: every member may use it; false: only its owner, "
                                                     "the members in shared_with and the team's admins")
    shared_with: list[UserRef] = Field(default_factory=list)
    usage_count: int = Field(0, description="How many of the team's workflows use it (newest versions)")
    can_manage: bool = Field(False, description="Whether the caller may change, share, connect or delete it")


class SharingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shared_with_team: bool = Field(description="True: every member of the team may use the credential")
    user_ids: list[str] = Field(default_factory=list, max_length=1000,
                                description="Members who may use it while it is not shared with the team")


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
