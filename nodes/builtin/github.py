"""The GitHub node: issues, comments, repositories and releases through GitHub's REST API.

Shaped like n8n's GitHub node (``resource`` + ``operation``), with the ``github`` credential's token:

* issue ``create`` (``title``, ``body``, ``labels``, ``assignees``), ``get`` and ``update`` (``issue_number``;
  ``title``/``body``/``state``/``labels``/``assignees`` that are set), ``get_all`` (the repository's issues
  by ``state``: open, closed or all; GitHub lists pull requests among them, with a ``pull_request`` key), ``create_comment`` (``issue_number``, ``body``);
* repository ``get``; release ``get_all``.

Listings follow GitHub's ``Link: <...>; rel="next"`` header page by page (100 a page) up to ``limit``
(``return_all``: every page, at most 10,000 items); each issue, release or comment is one output item.
Errors name GitHub's message (``GitHub refused POST /repos/o/r/issues (422): Validation Failed; Issue title
missing_field``). A 429, or a 403 with ``x-ratelimit-remaining: 0``, is waited out as ``Retry-After`` or
``x-ratelimit-reset`` says (up to 30 s, 3 tries), then reported as transient. The credential's base URL may
point at GitHub Enterprise Server (``https://HOST/api/v3``).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, check_operation, per_item, require

_OPERATIONS = {"issue": ("create", "get", "get_all", "update", "create_comment"), "repository": ("get",),
               "release": ("get_all",)}
_NEEDS = {"create": ("title",), "get": ("issue_number",), "update": ("issue_number",),
          "create_comment": ("issue_number", "body")}


class GitHubParameters(NodeParameters):
    resource: Literal["issue", "repository", "release"] = Field("issue", description="What to work with")
    operation: Literal["create", "get", "get_all", "update", "create_comment"] = Field(
        "create", description="issue: create, get, get_all, update, create_comment; repository: get; "
                              "release: get_all")
    owner: str = Field(..., min_length=1, max_length=100, description="Repository owner (user or organization)")
    repository: str = Field(..., min_length=1, max_length=100, description="Repository name")
    issue_number: int | None = Field(None, ge=1, description="get/update/create_comment: the issue's number")
    title: str = Field("", max_length=256, description="create/update: the issue's title")
    body: str = Field("", max_length=65_536, description="create/update: the issue's text; create_comment: "
                                                         "the comment (Markdown)")
    labels: list[str] | None = Field(None, max_length=100, description="create/update: label names")
    assignees: list[str] | None = Field(None, max_length=10, description="create/update: logins to assign")
    state: Literal["", "open", "closed", "all"] = Field(
        "", description="update: open or closed; get_all: open (default), closed or all")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many items")

    @model_validator(mode="after")
    def _fits(self) -> GitHubParameters:
        check_operation(self.resource, self.operation, _OPERATIONS)
        if self.resource == "issue":
            require(self, _NEEDS.get(self.operation, ()))
        if self.operation == "update" and self.state == "all":
            raise ValueError("an issue's state is open or closed")
        return self


class GitHub(Node):
    """One GitHub REST call (or one paged listing) per item."""

    type = "github"
    display_name = "GitHub"
    group = "integration"
    icon = "git-branch"
    description = "Create, read, update and list GitHub issues, comment on them, read repositories and releases."
    Parameters = GitHubParameters
    credential_slots = {"github": ("github",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("github")
        async with JsonApi.open(ctx, "GitHub", login.get("api_base_url", "https://api.github.com"),
                                login["headers"]) as api:
            return await per_item(ctx, items, lambda p: _one(api, p))


async def _one(api: JsonApi, p: GitHubParameters) -> list[dict]:
    repo = f"/repos/{quote(p.owner, safe='')}/{quote(p.repository, safe='')}"
    limit = MAX_ITEMS if p.return_all else p.limit
    if p.resource == "repository":
        return [{"json": await api.json("GET", repo)}]
    if p.resource == "release":
        return [{"json": r} for r in await api.link_pages(repo + "/releases", {}, limit)]
    if p.operation == "get_all":
        issues = await api.link_pages(repo + "/issues", {"state": p.state or "open"}, limit)
        return [{"json": i} for i in issues]
    issue = f"{repo}/issues/{p.issue_number}"
    if p.operation == "get":
        return [{"json": await api.json("GET", issue)}]
    if p.operation == "create_comment":
        return [{"json": await api.json("POST", issue + "/comments", json={"body": p.body})}]
    fields: dict[str, Any] = {k: v for k, v in (("title", p.title), ("body", p.body), ("state", p.state)) if v}
    for name in ("labels", "assignees"):
        if getattr(p, name) is not None:
            fields[name] = getattr(p, name)
    if p.operation == "create":
        return [{"json": await api.json("POST", repo + "/issues", json=fields)}]
    return [{"json": await api.json("PATCH", issue, json=fields)}]
