"""Converters for n8n's GitHub, GitLab, Jira Software, Notion, Airtable and Google Sheets nodes (the operations the LinkFlow
nodes have; any other operation is reported as not converted, by name, and the node is left disabled).

Same contract as ``nodes.py``: a converter returns ``Converted`` or raises ``Unsupported`` for the whole node;
``NodeJob.value`` converts (or reports) each parameter value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from backend.workflows.n8n.js_lexer import Unsupported
from backend.workflows.n8n.nodes import Converted, NodeJob, _options


def _locator(value: Any) -> Any:
    """n8n's resource locator ``{"__rl": true, "value": ..., "mode": "list|id|url|name"}`` -> its value; a URL
    (mode ``url``) is kept whole (the nodes read ids out of Notion URLs) except where a caller splits it."""
    return value.get("value", "") if isinstance(value, dict) else value


def _warn(job: NodeJob, parameter: str, reason: str) -> None:
    job.problems.append({"node": job.name, "parameter": parameter, "expression": None, "severity": "warning",
                         "reason": reason})


def _listing(params: dict, default_limit: int = 50) -> dict:
    return {"return_all": bool(params.get("returnAll")), "limit": params.get("limit", default_limit)}


def _names(items: Any, key: str) -> list:
    """n8n's fixed collections ``[{"label": "bug"}, ...]`` -> ``["bug", ...]``."""
    return [i.get(key) for i in items or [] if isinstance(i, dict) and i.get(key) not in (None, "")]


# -- GitHub and GitLab ---------------------------------------------------------------------------

def _repo_part(job: NodeJob, params: dict, name: str) -> Any:
    raw = params.get(name, "")
    value = _locator(raw)
    if isinstance(raw, dict) and raw.get("mode") == "url" and isinstance(value, str) and "://" in value:
        parts = [p for p in urlsplit(value).path.split("/") if p]
        value = parts[0 if name == "owner" else 1] if len(parts) > (0 if name == "owner" else 1) else value
    return job.value(value, name)


def _git(vendor: str):
    return lambda job, params, version: _git_node(vendor, job, params, version)


def _git_node(vendor: str, job: NodeJob, params: dict, version: float) -> Converted:
    lf = vendor.lower()
    resource = params.get("resource", "issue")
    operation = params.get("operation", {"issue": "create", "repository": "getIssues",
                                         "release": "create"}.get(resource, ""))
    out: dict[str, Any] = {"owner": _repo_part(job, params, "owner"),
                           "repository": _repo_part(job, params, "repository")}
    assignee_key = "assignees" if lf == "github" else "assignee_ids"
    if resource == "issue" and operation in ("create", "edit"):
        fields = params.get("editFields") or {} if operation == "edit" else params
        out.update(resource="issue", operation="create" if operation == "create" else "update")
        if operation == "edit":
            out["issue_number"] = job.value(params.get("issueNumber"), "issueNumber")
        for n8n_name, name in (("title", "title"), ("body", "body"), ("description", "body"),
                               ("state", "state"), ("due_date", "due_date")):
            if fields.get(n8n_name) not in (None, ""):
                out[name] = job.value(fields[n8n_name], f"{'editFields.' if operation == 'edit' else ''}{n8n_name}")
        if lf == "gitlab" and out.get("state") in ("open", "reopen", "close"):
            out["state"] = {"close": "closed"}.get(out["state"], "opened")
        if "labels" in fields:
            out["labels"] = [job.value(v, "labels") for v in _names(fields["labels"], "label")]
        if assignee_key in fields:
            out["assignees" if lf == "github" else "assignee_ids"] = [
                job.value(v, assignee_key) for v in _names(fields[assignee_key], "assignee")]
        return Converted(lf, out)
    if resource == "issue" and operation in ("get", "createComment"):
        out.update(resource="issue", operation="get" if operation == "get" else "create_comment",
                   issue_number=job.value(params.get("issueNumber"), "issueNumber"))
        if operation == "createComment":
            out["body"] = job.value(params.get("body", ""), "body")
        return Converted(lf, out)
    if resource == "repository" and operation == "get":
        return Converted(lf, {**out, "resource": "repository", "operation": "get"})
    if resource == "repository" and operation == "getIssues":
        filters = params.get("getRepositoryIssuesFilters") or {}
        for name in filters:
            if name != "state":
                _warn(job, f"getRepositoryIssuesFilters.{name}", f"the issue filter {name!r} is not converted; "
                      "all issues of the state are listed")
        state = filters.get("state", "open" if lf == "github" else "all")
        return Converted(lf, {**out, "resource": "issue", "operation": "get_all", "state": state,
                              **_listing(params)})
    if lf == "github" and resource == "release" and operation == "getAll":
        return Converted(lf, {**out, "resource": "release", "operation": "get_all", **_listing(params)})
    raise Unsupported(f"{vendor} {resource} {operation!r} is not converted")


# -- Jira ---------------------------------------------------------------------------------------

def _jira(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "issue")
    operation = params.get("operation", "create" if resource == "issue" else "add")
    key = {"issue_key": job.value(params.get("issueKey", ""), "issueKey")}
    if resource == "issue" and operation in ("create", "update"):
        fields = params.get("additionalFields" if operation == "create" else "updateFields") or {}
        group = "additionalFields" if operation == "create" else "updateFields"
        out: dict[str, Any] = {"resource": "issue", "operation": operation}
        if operation == "create":
            out.update(project=job.value(_locator(params.get("project", "")), "project"),
                       issue_type=job.value(_locator(params.get("issueType", "")), "issueType"),
                       summary=job.value(params.get("summary", ""), "summary"))
        else:
            out.update(key)
        simple = {"summary": "summary", "description": "description", "priority": "priority",
                  "assignee": "assignee", "statusId": "transition", "labels": "labels", "duedate": None}
        extra: dict[str, Any] = {}
        for n8n_name, value in fields.items():
            if n8n_name not in simple:
                _warn(job, f"{group}.{n8n_name}", f"the field {n8n_name!r} is not converted; set it in "
                      "the Jira node's fields JSON")
                continue
            value = job.value(_locator(value), f"{group}.{n8n_name}")
            if n8n_name == "duedate":
                extra["duedate"] = value
            elif n8n_name == "labels":
                out["labels"] = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            else:
                out[simple[n8n_name]] = value
        if extra:
            out["fields"] = extra
        return Converted("jira", out)
    if resource == "issue" and operation in ("get", "delete"):
        return Converted("jira", {"resource": "issue", "operation": operation, **key})
    if resource == "issue" and operation == "getAll":
        options = _options(params)
        jql = options.get("jql")
        if not jql:
            raise Unsupported("n8n listed every issue without a JQL query; Jira Cloud's search needs a bounded "
                              "one: set options.jql (project = KEY) in n8n or the JQL of the LinkFlow node")
        out = {"resource": "issue", "operation": "get_all", "jql": job.value(jql, "options.jql"),
               **_listing(params)}
        if options.get("fields"):
            out["search_fields"] = [f.strip() for f in str(options["fields"]).split(",") if f.strip()]
        return Converted("jira", out)
    if resource == "issueComment" and operation == "add":
        if params.get("jsonParameters"):
            raise Unsupported("a comment given as Atlassian Document JSON is not converted; give it as text")
        return Converted("jira", {"resource": "comment", "operation": "add", **key,
                                  "comment": job.value(params.get("comment", ""), "comment")})
    if resource == "issueComment" and operation == "getAll":
        return Converted("jira", {"resource": "comment", "operation": "get_all", **key, **_listing(params)})
    raise Unsupported(f"Jira {resource} {operation!r} is not converted")


# -- Notion -------------------------------------------------------------------------------------

_NOTION_VALUES = {"title": "title", "rich_text": "textContent", "number": "numberValue",
                  "checkbox": "checkboxValue", "select": "selectValue", "multi_select": "multiSelectValue",
                  "status": "statusValue", "date": "date", "url": "urlValue", "email": "emailValue",
                  "phone_number": "phoneValue", "people": "peopleValue", "relation": "relationValue"}
_NOTION_BLOCKS = {"paragraph", "heading_1", "heading_2", "heading_3", "bulleted_list_item",
                  "numbered_list_item", "to_do", "quote", "toggle", "callout"}


def _notion_properties(job: NodeJob, params: dict) -> list[dict]:
    out = []
    for index, prop in enumerate((params.get("propertiesUi") or {}).get("propertyValues") or []):
        name, _, kind = str(prop.get("key", "")).rpartition("|")
        if kind not in _NOTION_VALUES:
            raise Unsupported(f"the Notion property {name or prop.get('key')!r} of type {kind!r} is not converted")
        if kind == "rich_text" and prop.get("richText"):
            raise Unsupported(f"the rich text of property {name!r} (formatted runs) is not converted")
        value = prop.get(_NOTION_VALUES[kind])
        if kind == "date" and prop.get("range"):
            value = {"start": prop.get("dateStart"), "end": prop.get("dateEnd")}
        out.append({"name": name, "type": kind,
                    "value": job.value(value, f"propertiesUi.propertyValues[{index}]")})
    return out


def _notion_blocks(job: NodeJob, params: dict) -> list[dict]:
    blocks = []
    for index, block in enumerate((params.get("blockUi") or {}).get("blockValues") or []):
        kind = block.get("type", "paragraph")
        if kind not in _NOTION_BLOCKS or block.get("richText"):
            raise Unsupported(f"a Notion block of type {kind!r}{' with rich text' if block.get('richText') else ''}"
                              " is not converted")
        text = job.value(block.get("textContent", ""), f"blockUi.blockValues[{index}].textContent")
        content: dict[str, Any] = {"rich_text": [{"type": "text", "text": {"content": text}}]}
        if kind == "to_do":
            content["checked"] = bool(block.get("checked", False))
        blocks.append({"object": "block", "type": kind, kind: content})
    return blocks


def _notion(job: NodeJob, params: dict, version: float) -> Converted:
    resource = params.get("resource", "page")
    operation = params.get("operation", {"page": "create", "databasePage": "create", "block": "append"}
                           .get(resource, ""))
    if version < 2:
        raise Unsupported("Notion node version 1 is not converted; open it in n8n 1.x to upgrade it to v2 first")
    if params.get("simple", True) and (resource, operation) in (
            ("databasePage", "getAll"), ("databasePage", "get"), ("databasePage", "create"),
            ("databasePage", "update"), ("page", "create")):
        _warn(job, "simple", "n8n's simplified output (property_name: value) is not reproduced; LinkFlow gives "
                             "Notion's page objects (properties.Name.title[0].plain_text...)")
    database = {"database_id": job.value(_locator(params.get("databaseId", "")), "databaseId")}
    page = {"page_id": job.value(_locator(params.get("pageId", "")), "pageId")}
    if resource == "databasePage" and operation == "getAll":
        out: dict[str, Any] = {"resource": "database_page", "operation": "get_all", **database,
                               **_listing(params)}
        filter_type = params.get("filterType", "none")
        if filter_type == "json":
            out["filter"] = job.value(params.get("filterJson", "{}"), "filterJson")
        elif filter_type != "none":
            raise Unsupported("filters built condition by condition are not converted; use the JSON filter")
        sorts = ((_options(params).get("sort") or {}).get("sortValue")) or []
        if sorts:
            out["sorts"] = [{"property": str(s.get("key", "")).rpartition("|")[0] or s.get("key"),
                             "direction": s.get("direction", "ascending")} for s in sorts]
        return Converted("notion", out)
    if resource == "databasePage" and operation in ("create", "update"):
        out = {"resource": "database_page", "operation": operation,
               **(database if operation == "create" else page),
               "property_values": _notion_properties(job, params)}
        if operation == "create" and params.get("title"):
            out["title"] = job.value(params["title"], "title")
        blocks = _notion_blocks(job, params)
        if blocks:
            out["blocks"] = blocks
        return Converted("notion", out)
    if resource == "databasePage" and operation == "get":
        return Converted("notion", {"resource": "database_page", "operation": "get", **page})
    if resource == "page" and operation in ("create", "archive"):
        out = {"resource": "page", "operation": operation, **page}
        if operation == "create":
            out["title"] = job.value(params.get("title", ""), "title")
            blocks = _notion_blocks(job, params)
            if blocks:
                out["blocks"] = blocks
        return Converted("notion", out)
    if resource == "block" and operation in ("append", "getAll"):
        out = {"resource": "block", "operation": "append" if operation == "append" else "get_all",
               "block_id": job.value(_locator(params.get("blockId", "")), "blockId")}
        if operation == "append":
            out["blocks"] = _notion_blocks(job, params)
        else:
            out.update(_listing(params))
        return Converted("notion", out)
    raise Unsupported(f"Notion {resource} {operation!r} is not converted")


# -- Airtable -----------------------------------------------------------------------------------

def _airtable(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 2:
        return _airtable_v1(job, params)
    operation = params.get("operation", "search")
    table = {"base_id": job.value(_locator(params.get("base", "")), "base"),
             "table": job.value(_locator(params.get("table", "")), "table"), "simplify": True}
    options = _options(params)
    if operation in ("search", "get", "delete"):
        out: dict[str, Any] = {**table, "operation": "list" if operation == "search" else operation}
        if operation == "search":
            if params.get("filterByFormula"):
                out.update(operation="search", filter_by_formula=job.value(params["filterByFormula"],
                                                                           "filterByFormula"))
            out.update(_listing(params, 100))
            sorts = (params.get("sort") or {}).get("property") or []
            if sorts:
                out["sort"] = [{"field": s.get("field"), "direction": s.get("direction", "asc")} for s in sorts]
            if options.get("view"):
                out["view"] = job.value(_locator(options["view"]), "options.view")
            if options.get("fields"):
                out["output_fields"] = list(options["fields"])
        else:
            out["record_id"] = job.value(params.get("id", ""), "id")
        if operation == "delete":
            out.pop("simplify")
        return Converted("airtable", out)
    if operation in ("create", "update"):
        columns = params.get("columns") if isinstance(params.get("columns"), dict) else {}
        out = {**table, "operation": operation, "typecast": bool(options.get("typecast", False))}
        if columns.get("mappingMode", "defineBelow") == "autoMapInputData":
            out["fields_from_input"] = True
            ignored = options.get("ignoreFields")
            if ignored:
                raise Unsupported("options.ignoreFields is not converted; remove those fields before the node")
            if operation == "update":
                out["record_id"] = job.value("={{ $json.id }}", "columns.matchingColumns")
        else:
            values = dict(columns.get("value") or {})
            if operation == "update":
                matching = columns.get("matchingColumns") or ["id"]
                if matching != ["id"]:
                    raise Unsupported("updating records matched by other columns than id is not converted")
                out["record_id"] = job.value(values.pop("id", ""), "columns.value.id")
            out["fields"] = {k: job.value(v, f"columns.value.{k}") for k, v in values.items()}
        return Converted("airtable", out)
    raise Unsupported(f"Airtable record {operation!r} is not converted")


def _airtable_v1(job: NodeJob, params: dict) -> Converted:
    operation = params.get("operation", "read")
    table = {"base_id": job.value(_locator(params.get("application", "")), "application"),
             "table": job.value(_locator(params.get("table", "")), "table")}
    extra = params.get("additionalOptions") or {}
    if operation == "list":
        out: dict[str, Any] = {**table, "operation": "list", **_listing(params, 100)}
        if extra.get("filterByFormula"):
            out.update(operation="search", filter_by_formula=job.value(extra["filterByFormula"],
                                                                       "additionalOptions.filterByFormula"))
        if extra.get("view"):
            out["view"] = job.value(extra["view"], "additionalOptions.view")
        if extra.get("fields"):
            out["output_fields"] = list(extra["fields"])
        return Converted("airtable", out)
    if operation in ("read", "delete"):
        return Converted("airtable", {**table, "operation": "get" if operation == "read" else "delete",
                                      "record_id": job.value(params.get("id", ""), "id")})
    if operation in ("append", "update"):
        if not params.get("addAllFields", True):
            raise Unsupported("sending only some of the input's fields is not converted; add an Edit Fields node "
                              "that keeps them")
        out = {**table, "operation": "create" if operation == "append" else "update", "fields_from_input": True,
               "typecast": bool(_options(params).get("typecast", False))}
        if operation == "update":
            out["record_id"] = job.value(params.get("id", ""), "id")
        return Converted("airtable", out)
    raise Unsupported(f"Airtable operation {operation!r} is not converted")


# -- Google Sheets ------------------------------------------------------------------------------

def _sheet_name(params: dict) -> str:
    raw = params.get("sheetName", "")
    if not isinstance(raw, dict):
        return str(raw or "Sheet1")
    if raw.get("mode") == "name":
        return str(raw.get("value") or "Sheet1")
    if raw.get("cachedResultName"):  # picked from the list: the value is the sheet's gid, the name is cached
        return str(raw["cachedResultName"])
    raise Unsupported("a sheet given by its id (gid) is not converted; pick it by name")


def _google_sheets(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 4:
        raise Unsupported("Google Sheets node versions before 4 are not converted; open the workflow in n8n 1.x "
                          "to upgrade the node first")
    if params.get("resource", "sheet") != "sheet":
        raise Unsupported(f"Google Sheets resource {params.get('resource')!r} is not converted")
    operation = params.get("operation", "read")
    sheet = _sheet_name(params)
    if isinstance(sheet, str) and sheet.startswith("="):
        raise Unsupported("a sheet name set by an expression is not converted")
    out: dict[str, Any] = {"operation": operation,
                           "spreadsheet_id": job.value(_locator(params.get("documentId", "")), "documentId")}
    options = _options(params)
    if operation == "read":
        if ((params.get("filtersUI") or {}).get("values")):
            raise Unsupported("rows filtered by lookup columns are not converted; add a Filter node after it")
        location = ((options.get("dataLocationOnSheet") or {}).get("values") or {})
        cells = location.get("range") if location.get("rangeDefinition") == "specifyRange" else ""
        out["range"] = f"{sheet}!{cells}" if cells else sheet
        return Converted("google_sheets", out)
    if operation == "append":
        columns = params.get("columns") if isinstance(params.get("columns"), dict) else {}
        out["range"] = sheet
        out["value_input_option"] = "RAW" if options.get("cellFormat") == "RAW" else "USER_ENTERED"
        if columns.get("mappingMode", "defineBelow") == "autoMapInputData":
            out["fields_from_input"] = True
        else:
            out.update(fields_from_input=False, fields={
                k: job.value(v, f"columns.value.{k}") for k, v in (columns.get("value") or {}).items()})
        return Converted("google_sheets", out)
    raise Unsupported(f"Google Sheets operation {operation!r} is not converted (read and append are)")


CONVERTERS = {
    "n8n-nodes-base.github": _git("GitHub"),
    "n8n-nodes-base.gitlab": _git("GitLab"),
    "n8n-nodes-base.jira": _jira,
    "n8n-nodes-base.notion": _notion,
    "n8n-nodes-base.airtable": _airtable,
    "n8n-nodes-base.googleSheets": _google_sheets,
}

CREDENTIAL_TYPES = {
    "githubApi": ("github", "github"), "gitlabApi": ("gitlab", "gitlab"),
    "jiraSoftwareCloudApi": ("jira", "jira"), "jiraSoftwareServerPatApi": ("jira", "jira"),
    "notionApi": ("notion", "notion"), "airtableTokenApi": ("airtable", "airtable"),
    "googleApi": ("google_sheets", "google_sheets"),  # n8n's service-account credential
}
