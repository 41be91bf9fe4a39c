"""The shape of a template file (backend/templates/gallery/<id>.json) and of the templates API."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.workflows.schemas import Name, WorkflowOut

TemplateId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)]


class TemplateFile(BaseModel):
    """One gallery file. ``sample_input`` is what its trigger receives in a test run (a webhook's body)."""

    model_config = ConfigDict(extra="forbid")

    id: TemplateId
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=20)
    sample_input: dict[str, Any] | list[dict[str, Any]] | None = None
    workflow: dict[str, Any]


class CredentialNeed(BaseModel):
    """A node's credential slot the user picks after creating the workflow (templates carry none)."""

    node: str
    slot: str
    types: list[str] = Field(description="display names of the credential types the slot accepts")


class NodeOut(BaseModel):
    """A node as the gallery's preview draws it."""

    name: str
    type: str
    display_name: str
    icon: str
    position: tuple[float, float]


class TemplateSummary(BaseModel):
    id: str
    name: str
    category: str
    description: str
    tags: list[str]
    node_types: list[str] = Field(description="display names of the node types used, in workflow order")
    credentials: list[CredentialNeed]


class TemplateOut(TemplateSummary):
    nodes: list[NodeOut]
    connections: list[dict[str, str]]
    sample_input: dict[str, Any] | list[dict[str, Any]] | None
    definition: dict[str, Any]


class TemplatePage(BaseModel):
    items: list[TemplateSummary]
    total: int
    categories: list[str] = Field(description="every category of the gallery, for the filter")


class UseTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = Field(None, description="the new workflow's name (default: the template's)")


class TemplateUsed(BaseModel):
    workflow: WorkflowOut
    credentials: list[CredentialNeed] = Field(description="slots left empty for the user to pick")
