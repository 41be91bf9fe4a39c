"""The Jira node: issues (create, get, search by JQL, update, transition, delete) and comments.

Shaped like n8n's Jira Software node (resource ``issue`` or ``comment`` + ``operation``), calling the Jira
Cloud REST API v3 (or v2 on Jira Data Center, as the ``jira`` credential says):

* issue ``create`` (``project`` key, ``issue_type`` name, ``summary``, ``description`` as plain text, turned
  into Atlassian Document Format on v3, ``labels``, ``priority`` name, ``assignee`` account id (project, type and priority may be ids), and any other
  ``fields`` as Jira's JSON) -> ``{id, key, self}``; ``get`` (``issue_key``); ``get_all`` (issues matching
  ``jql``, with the ``search_fields`` asked for); ``update`` (what is set of the above, then ``transition``
  if set); ``transition``
  (``transition``: its id, or its name such as "Done"); ``delete``;
* comment ``add`` (``comment`` text) and ``get_all`` (an issue's comments).

Searches follow ``nextPageToken`` (v3 ``/search/jql``) or ``startAt``/``total`` (v2 ``/search`` and comment
lists), 100 a page, up to ``limit`` (``return_all``: every page, at most 10,000 items). Errors name Jira's
``errorMessages`` and field ``errors`` (``Jira refused POST /rest/api/3/issue (400): summary: You must specify
a summary of the issue.``); a 429 is waited out as ``Retry-After`` says (up to 30 s, 3 tries), then reported
as transient.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import Field, model_validator

from nodes.sdk import Node, NodeParameters, NodeUserError
from nodes.sdk.jsonapi import MAX_ITEMS, JsonApi, check_operation, per_item, require

PAGE_SIZE = 100
_OPERATIONS = {"issue": ("create", "get", "get_all", "update", "transition", "delete"),
               "comment": ("add", "get_all")}
_NEEDS = {("issue", "create"): ("project", "issue_type", "summary"), ("issue", "get"): ("issue_key",),
          ("issue", "get_all"): ("jql",), ("issue", "update"): ("issue_key",),
          ("issue", "transition"): ("issue_key", "transition"), ("issue", "delete"): ("issue_key",),
          ("comment", "add"): ("issue_key", "comment"), ("comment", "get_all"): ("issue_key",)}


class JiraParameters(NodeParameters):
    resource: Literal["issue", "comment"] = Field("issue", description="What to work with")
    operation: Literal["create", "get", "get_all", "update", "transition", "delete", "add"] = Field(
        "create", description="issue: create, get, get_all (JQL search), update, transition, delete; "
                              "comment: add, get_all")
    project: str = Field("", max_length=100, description="create: the project key (PROJ) or id (10000)")
    issue_type: str = Field("Task", max_length=100, description="create: the issue type's name (Task, Bug...) "
                                                                "or id")
    summary: str = Field("", max_length=255, description="create/update: the summary")
    description: str = Field("", max_length=32_000, description="create/update: the description, plain text")
    labels: list[str] | None = Field(None, max_length=100, description="create/update: labels")
    priority: str = Field("", max_length=100, description="create/update: the priority's name (High...) or id")
    assignee: str = Field("", max_length=128, description="create/update: the assignee's account id")
    fields: dict[str, Any] = Field(default_factory=dict, description="create/update: other fields as Jira's "
                                   "JSON, e.g. {\"customfield_10010\": 5, \"duedate\": \"2026-12-24\"}")
    issue_key: str = Field("", max_length=100, description="The issue's key (PROJ-12) or id")
    jql: str = Field("", max_length=10_000, description="get_all: the JQL query (project = PROJ AND "
                                                        "status = \"To Do\" ORDER BY created DESC)")
    search_fields: list[str] = Field(["*navigable"], max_length=200,
                                     description="get_all: the fields each issue comes with")
    transition: str = Field("", max_length=100, description="transition (and update): the transition's id or "
                                                            "name (Done)")
    comment: str = Field("", max_length=32_000, description="comment add: the text")
    return_all: bool = Field(False, description="get_all: every page")
    limit: int = Field(50, ge=1, le=MAX_ITEMS, description="get_all: at most this many items")

    @model_validator(mode="after")
    def _fits(self) -> JiraParameters:
        check_operation(self.resource, self.operation, _OPERATIONS)
        require(self, _NEEDS[(self.resource, self.operation)])
        return self


class Jira(Node):
    """One Jira REST call (or one paged search) per item."""

    type = "jira"
    display_name = "Jira"
    group = "integration"
    icon = "square-kanban"
    description = "Create, read, search (JQL), update, transition and delete Jira issues; add and list comments."
    Parameters = JiraParameters
    credential_slots = {"jira": ("jira",)}
    side_effects = True

    async def execute(self, ctx, items):
        login = await ctx.credentials("jira")
        async with JsonApi.open(ctx, "Jira", login["api_base_url"], login["headers"]) as api:
            v3 = login.get("api_version", "3") == "3"
            return await per_item(ctx, items, lambda p: _one(api, p, v3))


def _text(text: str, v3: bool) -> Any:
    """Plain text as the API wants it: a string on v2, an Atlassian Document (one paragraph a line) on v3."""
    if not v3:
        return text
    lines = text.split("\n")
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []} for line in lines]}


def _ref(value: str, key: str) -> dict:
    """A project, issue type or priority by id (all digits, as n8n stores them) or by key/name."""
    value = value.strip()
    return {"id": value} if value.isdigit() else {key: value}


def _fields(p: JiraParameters, v3: bool) -> dict:
    fields = dict(p.fields)
    if p.operation == "create":
        fields.update(project=_ref(p.project, "key"), issuetype=_ref(p.issue_type, "name"))
    if p.summary:
        fields["summary"] = p.summary
    if p.description:
        fields["description"] = _text(p.description, v3)
    if p.labels is not None:
        fields["labels"] = p.labels
    if p.priority:
        fields["priority"] = _ref(p.priority, "name")
    if p.assignee:
        fields["assignee"] = {"accountId": p.assignee} if v3 else {"name": p.assignee}
    return fields


async def _one(api: JsonApi, p: JiraParameters, v3: bool) -> list[dict]:
    limit = MAX_ITEMS if p.return_all else p.limit
    issue = "/issue/" + quote(p.issue_key.strip(), safe="")
    if p.resource == "comment":
        if p.operation == "add":
            return [{"json": await api.json("POST", issue + "/comment", json={"body": _text(p.comment, v3)})}]
        return [{"json": c} for c in await _start_at(api, "GET", issue + "/comment", {}, "comments", limit)]
    if p.operation == "get_all":
        body = {"jql": p.jql, "fields": p.search_fields}
        if not v3:
            return [{"json": i} for i in await _start_at(api, "POST", "/search", body, "issues", limit)]
        return [{"json": i} for i in await _next_token(api, body, limit)]
    if p.operation == "get":
        return [{"json": await api.json("GET", issue)}]
    if p.operation == "create":
        return [{"json": await api.json("POST", "/issue", json={"fields": _fields(p, v3)})}]
    if p.operation == "update":
        fields = _fields(p, v3)
        if not fields and not p.transition:
            raise NodeUserError("issue update needs something to change: summary, description, labels, "
                                "priority, assignee, fields or transition")
        if fields:
            await api.json("PUT", issue, json={"fields": fields})
        if p.transition:
            chosen = await _transition(api, issue, p)
            await api.json("POST", issue + "/transitions", json={"transition": {"id": chosen["id"]}})
        return [{"json": {"key": p.issue_key, "success": True}}]
    if p.operation == "delete":
        await api.json("DELETE", issue)
        return [{"json": {"key": p.issue_key, "deleted": True}}]
    chosen = await _transition(api, issue, p)
    await api.json("POST", issue + "/transitions", json={"transition": {"id": chosen["id"]}})
    return [{"json": {"key": p.issue_key, "transition": {"id": chosen["id"], "name": chosen.get("name")},
                      "success": True}}]


async def _transition(api: JsonApi, issue: str, p: JiraParameters) -> dict:
    wanted = p.transition.strip()
    if wanted.isdigit():
        return {"id": wanted}
    available = (await api.json("GET", issue + "/transitions")).get("transitions") or []
    for t in available:
        if wanted.lower() in (str(t.get("name", "")).lower(), str((t.get("to") or {}).get("name", "")).lower()):
            return t
    names = ", ".join(f"{t.get('name')} ({t.get('id')})" for t in available) or "none"
    raise NodeUserError(f"{p.issue_key} has no transition {wanted!r} now; available: {names}")


async def _next_token(api: JsonApi, body: dict, limit: int) -> list:
    found: list = []
    token = ""
    while len(found) < limit:
        page = await api.json("POST", "/search/jql", json={
            **body, "maxResults": min(PAGE_SIZE, limit - len(found)), **({"nextPageToken": token} if token else {})})
        found += page.get("issues") or []
        token = page.get("nextPageToken") or ""
        if not token or page.get("isLast"):
            break
    return found[:limit]


async def _start_at(api: JsonApi, method: str, path: str, body: dict, key: str, limit: int) -> list:
    found: list = []
    while len(found) < limit:
        paging = {"startAt": len(found), "maxResults": min(PAGE_SIZE, limit - len(found))}
        page = await (api.json(method, path, json={**body, **paging}) if method == "POST"
                      else api.json(method, path, params=paging))
        chunk = page.get(key) or []
        found += chunk
        if not chunk or len(found) >= int(page.get("total") or 0):
            break
    return found[:limit]
