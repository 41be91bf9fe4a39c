"""The GitLab node: issues, notes, merge requests and projects through GitLab's REST API v4.

Shaped like n8n's GitLab node (``resource`` + ``operation``; the project is ``owner``/``repository``, where
the owner may be a group path such as ``group/subgroup``), with the ``gitlab`` credential (gitlab.com or a
self-managed server):

* issue ``create`` (``title``, ``body`` as the description, ``labels``, ``assignee_ids``, ``due_date``),
  ``get`` and ``update`` (``issue_number``: the issue's iid; what is set of ``title``/``body``/``labels``, and
  ``state``: closed closes, opened reopens), ``get_all`` (by ``state``: opened, closed or all),
  ``create_comment`` (a note with ``body``);
* merge_request ``get_all`` (by ``state``: opened, closed, merged or all); repository ``get`` (the project).

Listings follow GitLab's ``Link: <...>; rel="next"`` header, 100 a page, up to ``limit`` (``return_all``:
every page, at most 10,000). Errors name GitLab's message (``GitLab refused POST .../issues (400): title is
missing``); a 429 is waited out as ``Retry-After`` (else ``RateLimit-Reset``) says, up to 30 s and 3 tries,
then reported as transient.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, check_operation, per_item, require

_OPERATIONS = {"issue": ("create", "get", "get_all", "update", "create_comment"),
               "merge_request": ("get_all",), "repository": ("get",)}
_NEEDS = {"create": ("title",), "get": ("issue_number",), "update": ("issue_number",),
          "create_comment": ("issue_number", "body")}


class GitLabParameters(NodeParameters):
    resource: Literal["issue", "merge_request", "repository"] = Field("issue", description="What to work with")
    operation: Literal["create", "get", "get_all", "update", "create_comment"] = Field(
        "create", description="issue: create, get, get_all, update, create_comment; merge_request: get_all; "
                              "repository: get")
    owner: str = Field(..., min_length=1, max_length=255, description="Project owner: user or group path")
    repository: str = Field(..., min_length=1, max_length=255, description="Project name (path)")
    issue_number: int | None = Field(None, ge=1, description="get/update/create_comment: the issue's iid")
    title: str = Field("", max_length=255, description="create/update: the issue's title")
    body: str = Field("", max_length=1_000_000, description="create/update: the description; "
                                                            "create_comment: the note (Markdown)")
    labels: list[str] | None = Field(None, max_length=100, description="create/update: label names")
    assignee_ids: list[int] | None = Field(None, max_length=100, description="create/update: user ids")
    due_date: str = Field("", pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="create/update: YYYY-MM-DD")
    state: Literal["", "opened", "closed", "merged", "all"] = Field(
        "", description="get_all: opened, closed, merged (merge requests) or all (default); update: closed "
                        "closes the issue, opened reopens it")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many items")

    @model_validator(mode="after")
    def _fits(self) -> GitLabParameters:
        check_operation(self.resource, self.operation, _OPERATIONS)
        if self.resource == "issue":
            require(self, _NEEDS.get(self.operation, ()))
        if self.state == "merged" and self.resource != "merge_request" or \
                self.operation == "update" and self.state == "all":
            raise ValueError(f"state {self.state!r} does not apply to {self.resource} {self.operation}")
        return self


class GitLab(Node):
    """One GitLab REST call (or one paged listing) per item."""

    type = "gitlab"
    display_name = "GitLab"
    group = "integration"
    icon = "git-merge"
    description = "Create, read, update and list GitLab issues, comment on them, list merge requests, read projects."
    Parameters = GitLabParameters
    credential_slots = {"gitlab": ("gitlab",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("gitlab")
        async with JsonApi.open(ctx, "GitLab", login.get("api_base_url", "https://gitlab.com/api/v4"),
                                login["headers"]) as api:
            return await per_item(ctx, items, lambda p: _one(api, p))


async def _one(api: JsonApi, p: GitLabParameters) -> list[dict]:
    project = "/projects/" + quote(f"{p.owner.strip('/')}/{p.repository.strip('/')}", safe="")
    limit = MAX_ITEMS if p.return_all else p.limit
    if p.resource == "repository":
        return [{"json": await api.json("GET", project)}]
    if p.operation == "get_all":
        path = project + ("/issues" if p.resource == "issue" else "/merge_requests")
        return [{"json": x} for x in await api.link_pages(path, {"state": p.state or "all"}, limit)]
    issue = f"{project}/issues/{p.issue_number}"
    if p.operation == "get":
        return [{"json": await api.json("GET", issue)}]
    if p.operation == "create_comment":
        return [{"json": await api.json("POST", issue + "/notes", json={"body": p.body})}]
    fields: dict[str, Any] = {k: v for k, v in (("title", p.title), ("description", p.body),
                                                 ("due_date", p.due_date)) if v}
    if p.labels is not None:
        fields["labels"] = ",".join(p.labels)
    if p.assignee_ids is not None:
        fields["assignee_ids"] = p.assignee_ids
    if p.operation == "create":
        return [{"json": await api.json("POST", project + "/issues", json=fields)}]
    if p.state:
        fields["state_event"] = "close" if p.state == "closed" else "reopen"
    return [{"json": await api.json("PUT", issue, json=fields)}]
