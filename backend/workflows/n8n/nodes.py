"""n8n node types -> LinkFlow node types: one converter per n8n type, in one table (``CONVERTERS``).

A converter gets the n8n node and a ``NodeJob`` and returns the LinkFlow type, its parameters and
its output ports in n8n's output order (so ``connections`` can map n8n's output index to a port).
A whole node that cannot be converted raises ``Unsupported``; a parameter that cannot is recorded by
``NodeJob.value`` and the node is imported disabled.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backend.workflows.n8n.js_lexer import Refused, Unsupported
from backend.workflows.n8n.values import convert_value


@dataclass
class NodeJob:
    name: str
    problems: list[dict] = field(default_factory=list)

    def value(self, value: Any, parameter: str) -> Any:
        try:
            return convert_value(value)
        except Refused:
            raise
        except Unsupported as exc:
            self.problems.append({"node": self.name, "parameter": parameter,
                                  "expression": value if isinstance(value, str) else None, "reason": str(exc)})
            return value if not isinstance(value, str) else value.lstrip("=")


@dataclass
class Converted:
    type: str
    parameters: dict
    outputs: list[str] = field(default_factory=lambda: ["main"])
    inputs: list[str] = field(default_factory=lambda: ["main"])


def _options(params: dict) -> dict:
    options = params.get("options")
    return options if isinstance(options, dict) else {}


# -- conditions (If, Filter, Switch) -------------------------------------------------------------

_V2_OPERATIONS = {
    "equals": "equals", "notEquals": "not_equals", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte",
    "after": "gt", "before": "lt", "afterOrEquals": "gte", "beforeOrEquals": "lte",
    "contains": "contains", "notContains": "not_contains", "startsWith": "starts_with", "endsWith": "ends_with",
    "regex": "regex", "exists": "exists", "notExists": "not_exists", "empty": "is_empty", "notEmpty": "is_not_empty",
}
_V1_OPERATIONS = {
    "equal": "equals", "notEqual": "not_equals", "larger": "gt", "largerEqual": "gte", "smaller": "lt",
    "smallerEqual": "lte", "contains": "contains", "notContains": "not_contains", "startsWith": "starts_with",
    "endsWith": "ends_with", "regex": "regex", "isEmpty": "is_empty", "isNotEmpty": "is_not_empty",
}


def _condition_v2(job: NodeJob, raw: dict, where: str, ignore_case: bool) -> dict:
    operator = raw.get("operator") if isinstance(raw.get("operator"), dict) else {}
    operation = str(operator.get("operation", "equals"))
    right = raw.get("rightValue")
    if operator.get("type") == "boolean" and operation in ("true", "false"):
        operation, right = "equals", operation == "true"
    if operation not in _V2_OPERATIONS:
        raise Unsupported(f"{where}: operator {operator.get('type')}.{operation} has no LinkFlow counterpart")
    condition = {"left": job.value(raw.get("leftValue"), f"{where}.leftValue"),
                 "operation": _V2_OPERATIONS[operation], "right": job.value(right, f"{where}.rightValue")}
    if ignore_case:
        condition["ignore_case"] = True
    return condition


def _conditions(job: NodeJob, params: dict, version: float) -> tuple[list[dict], str]:
    raw = params.get("conditions")
    raw = raw if isinstance(raw, dict) else {}
    if version >= 2:
        ignore_case = (raw.get("options") or {}).get("caseSensitive") is False or \
            _options(params).get("ignoreCase") is True
        items = raw.get("conditions") if isinstance(raw.get("conditions"), list) else []
        conditions = [_condition_v2(job, c, f"conditions[{i}]", ignore_case) for i, c in enumerate(items)]
        return conditions, "or" if raw.get("combinator") == "or" else "and"
    conditions = []
    for kind in ("string", "number", "boolean", "dateTime"):
        for i, c in enumerate(raw.get(kind) or []):
            operation = c.get("operation", "equal")
            if operation not in _V1_OPERATIONS:
                raise Unsupported(f"conditions.{kind}[{i}]: operation {operation!r} has no LinkFlow counterpart")
            conditions.append({"left": job.value(c.get("value1"), f"conditions.{kind}[{i}].value1"),
                               "operation": _V1_OPERATIONS[operation],
                               "right": job.value(c.get("value2"), f"conditions.{kind}[{i}].value2")})
    return conditions, "or" if params.get("combineOperation") == "any" else "and"


def _if(job: NodeJob, params: dict, version: float) -> Converted:
    conditions, combinator = _conditions(job, params, version)
    return Converted("if", {"conditions": conditions, "combinator": combinator}, ["true", "false"])


def _filter(job: NodeJob, params: dict, version: float) -> Converted:
    if _options(params).get("discarded"):
        raise Unsupported("the 'discarded items' output has no LinkFlow counterpart")
    conditions, combinator = _conditions(job, params, version)
    return Converted("filter", {"conditions": conditions, "combinator": combinator})


def _port(text: str, index: int, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", str(text).lower()).strip("_")[:32]
    name = name if name and name[0].isalpha() and name not in ("error", "fallback") else f"output_{index}"
    while name in taken:
        name = f"{name[:28]}_{index}"
    taken.add(name)
    return name


def _switch(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 3 or params.get("mode", "rules") != "rules":
        raise Unsupported("only Switch version 3 in rules mode is converted (open and save it in a recent n8n)")
    options, rules, ports = _options(params), [], []
    for index, rule in enumerate((params.get("rules") or {}).get("values") or []):
        conditions, _ = _conditions(job, rule, 2)
        if len(conditions) != 1:
            raise Unsupported(f"rule {index} has {len(conditions)} conditions; LinkFlow's Switch rules have one")
        label = rule.get("outputKey") if rule.get("renameOutput") else ""
        ports.append(_port(label or "", index, set(ports)))
        rules.append({**conditions[0], "output": ports[-1]})
    fallback = options.get("fallbackOutput", "none")
    if fallback not in ("none", "extra"):
        raise Unsupported("a fallback to one of the rules' outputs has no LinkFlow counterpart")
    parameters = {"rules": rules, "mode": "all_matches" if options.get("allMatchingOutputs") else "first_match",
                  "fallback": fallback}
    return Converted("switch", parameters, ports + (["fallback"] if fallback == "extra" else []))


# -- data nodes ----------------------------------------------------------------------------------

_SET_TYPES = {"string": "string", "number": "number", "boolean": "boolean", "array": "array", "object": "object"}


def _set(job: NodeJob, params: dict, version: float) -> Converted:
    fields = []
    if version >= 3.3:
        if params.get("mode", "manual") != "manual":
            raise Unsupported("Set in JSON mode has no LinkFlow counterpart; use manual mapping")
        for i, a in enumerate((params.get("assignments") or {}).get("assignments") or []):
            fields.append({"name": a.get("name", ""), "value": job.value(a.get("value"), f"assignments[{i}].value"),
                           "type": _SET_TYPES.get(a.get("type", "string"))})
        include = params.get("includeOtherFields", False)
        if include and params.get("include", "all") != "all":
            raise Unsupported("including only some other fields has no LinkFlow counterpart")
        keep_only = not include
    elif version < 3:
        for kind in ("string", "number", "boolean"):
            for i, v in enumerate((params.get("values") or {}).get(kind) or []):
                fields.append({"name": v.get("name", ""), "value": job.value(v.get("value"), f"values.{kind}[{i}]"),
                               "type": kind})
        keep_only = bool(params.get("keepOnlySet", False))
    else:
        raise Unsupported("Set versions 3.0-3.2 are not converted (open and save it in a recent n8n)")
    for f in fields:
        if f["type"] is None:
            del f["type"]
    return Converted("set", {"fields": fields, "keep_only_set": keep_only})


def _sort(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("type", "simple") != "simple":
        raise Unsupported("only the simple sort type is converted")
    keys = [{"field": s.get("fieldName", ""), "order": "desc" if s.get("order") == "descending" else "asc"}
            for s in (params.get("sortFieldsUi") or {}).get("sortField") or []]
    return Converted("sort", {"fields": keys})


def _limit(job: NodeJob, params: dict, version: float) -> Converted:
    return Converted("limit", {"max_items": params.get("maxItems", 1),
                               "keep": "last" if params.get("keep") == "lastItems" else "first"})


def _aggregate(job: NodeJob, params: dict, version: float) -> Converted:
    options = _options(params)
    if params.get("aggregate") == "aggregateAllItemData":
        return Converted("aggregate", {"mode": "all_items",
                                       "output_field": params.get("destinationFieldName") or "data"})
    if options.get("mergeLists"):
        raise Unsupported("merging lists has no LinkFlow counterpart")
    fields = [{"field": f.get("fieldToAggregate", ""),
               "output_field": f.get("outputFieldName", "") if f.get("renameField") else ""}
              for f in (params.get("fieldsToAggregate") or {}).get("fieldToAggregate") or []]
    return Converted("aggregate", {"mode": "individual_fields", "fields": fields,
                                   "keep_missing": bool(options.get("keepMissing", False))})


def _split_out(job: NodeJob, params: dict, version: float) -> Converted:
    include = params.get("include", "noOtherFields")
    if include == "selectedOtherFields":
        raise Unsupported("including only selected other fields has no LinkFlow counterpart")
    field_name = params.get("fieldToSplitOut", "")
    if "," in field_name:
        raise Unsupported("splitting several fields at once has no LinkFlow counterpart")
    return Converted("split_out", {"field": field_name, "include_other_fields": include == "allOtherFields",
                                   "destination_field": _options(params).get("destinationFieldName", "")})


def _remove_duplicates(job: NodeJob, params: dict, version: float) -> Converted:
    compare = params.get("compare", "allFields")
    if compare == "allFields":
        return Converted("remove_duplicates", {"compare": "all_fields"})
    if compare != "selectedFields":
        raise Unsupported(f"comparing {compare!r} has no LinkFlow counterpart")
    raw = params.get("fieldsToCompare", "")
    names = [f.get("fieldName", "") for f in raw.get("fields", [])] if isinstance(raw, dict) else \
        [n.strip() for n in str(raw).split(",") if n.strip()]
    return Converted("remove_duplicates", {"compare": "selected_fields", "fields": names})


def _merge(job: NodeJob, params: dict, version: float) -> Converted:
    mode = params.get("mode", "append")
    if mode == "append":
        return Converted("merge", {"mode": "append"}, inputs=["input1", "input2"])
    if mode == "combine" and version >= 3:
        by = params.get("combineBy", "combineByFields")
        if by == "combineByPosition":
            return Converted("merge", {"mode": "combine_by_position",
                                       "include_unpaired": bool(_options(params).get("includeUnpaired"))},
                             inputs=["input1", "input2"])
        if by == "combineByFields":
            pairs = (params.get("fieldsToMatchString") or "").split(",")
            if params.get("advanced") or len(pairs) != 1:
                raise Unsupported("Merge by several or differently named fields has no LinkFlow counterpart")
            join = {"keepMatches": "inner", "keepEverything": "outer", "enrichInput1": "left"}.get(
                params.get("joinMode", "keepMatches"))
            if join is None or params.get("outputDataFrom", "both") != "both":
                raise Unsupported("this Merge join mode has no LinkFlow counterpart")
            key = pairs[0].strip()
            return Converted("merge", {"mode": "combine_by_key", "key1": key, "key2": key, "join": join},
                             inputs=["input1", "input2"])
    raise Unsupported(f"Merge mode {mode!r} (version {version}) has no LinkFlow counterpart")


# -- flow and triggers ---------------------------------------------------------------------------


def _plain(lf_type: str) -> Callable[[NodeJob, dict, float], Converted]:
    return lambda job, params, version: Converted(lf_type, {})


def _no_input(converted: Converted) -> Converted:
    converted.inputs = []
    return converted


def _webhook(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("authentication", "none") != "none":
        raise Unsupported("webhook authentication uses n8n credentials; set LinkFlow's auth on the node after import")
    respond = {"onReceived": "immediately", "lastNode": "last_node", "responseNode": "respond_node"}
    return _no_input(Converted("webhook", {"path": str(params.get("path", "")).strip("/"),
                                           "method": params.get("httpMethod", "GET"),
                                           "respond": respond.get(params.get("responseMode", "onReceived"),
                                                                  "immediately")}))


def _schedule_rule(rule: dict) -> str:
    kind = rule.get("field", "days")
    if kind == "cronExpression":
        return str(rule.get("expression", ""))
    minute, hour = int(rule.get("triggerAtMinute", 0)), int(rule.get("triggerAtHour", 0))
    if kind == "minutes":
        return f"*/{int(rule.get('minutesInterval', 5))} * * * *"
    if kind == "hours":
        return f"{minute} */{int(rule.get('hoursInterval', 1))} * * *"
    if kind == "days" and int(rule.get("daysInterval", 1)) == 1:
        return f"{minute} {hour} * * *"
    if kind == "weeks" and int(rule.get("weeksInterval", 1)) == 1:
        days = ",".join(str(int(d)) for d in rule.get("triggerAtDay") or [0])
        return f"{minute} {hour} * * {days}"
    raise Unsupported(f"schedule rule {kind!r} with these intervals has no cron equivalent")


def _schedule(job: NodeJob, params: dict, version: float) -> Converted:
    rules = (params.get("rule") or {}).get("interval") or [{}]
    if len(rules) != 1:
        raise Unsupported("several schedule rules in one trigger: LinkFlow's schedule has one cron")
    return _no_input(Converted("schedule", {"cron": _schedule_rule(rules[0])}))


def _wait(job: NodeJob, params: dict, version: float) -> Converted:
    resume = params.get("resume", "timeInterval")
    if resume == "timeInterval":
        return Converted("wait", {"mode": "duration", "amount": params.get("amount", 1),
                                  "unit": params.get("unit", "hours")})
    if resume == "specificTime":
        return Converted("wait", {"mode": "until", "until": job.value(params.get("dateTime"), "dateTime")})
    if resume == "webhook":
        return Converted("wait", {"mode": "webhook"})
    raise Unsupported(f"Wait resume {resume!r} has no LinkFlow counterpart")


def _respond(job: NodeJob, params: dict, version: float) -> Converted:
    kinds = {"allIncomingItems": "all_items", "firstIncomingItem": "first_item", "json": "json", "text": "text",
             "noData": "no_data"}
    respond_with = params.get("respondWith", "firstIncomingItem")
    if respond_with not in kinds:
        raise Unsupported(f"responding with {respond_with!r} has no LinkFlow counterpart")
    options = _options(params)
    headers = {h.get("name", ""): job.value(h.get("value", ""), f"options.responseHeaders.{h.get('name')}")
               for h in (options.get("responseHeaders") or {}).get("entries") or []}
    out = {"status": options.get("responseCode", 200), "headers": headers, "body_type": kinds[respond_with]}
    if respond_with in ("json", "text"):
        out["body"] = job.value(params.get("responseBody", ""), "responseBody")
    return Converted("respond_to_webhook", out)


def _stop(job: NodeJob, params: dict, version: float) -> Converted:
    if params.get("errorType", "errorMessage") != "errorMessage":
        raise Unsupported("an error object has no LinkFlow counterpart; use an error message")
    return Converted("stop_and_error", {"message": job.value(params.get("errorMessage", ""), "errorMessage")})


def _loop(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 3:
        raise Unsupported("Split In Batches before version 3 is not converted (use Loop Over Items)")
    return Converted("loop", {"batch_size": params.get("batchSize", 1)}, ["done", "loop"])


def _pairs(job: NodeJob, raw: Any, where: str) -> dict:
    return {p.get("name", ""): job.value(p.get("value", ""), f"{where}.{p.get('name')}")
            for p in (raw or {}).get("parameters") or []}


def _http(job: NodeJob, params: dict, version: float) -> Converted:
    if version < 3:
        raise Unsupported("HTTP Request before version 3 is not converted (open and save it in a recent n8n)")
    out: dict[str, Any] = {"method": params.get("method", "GET"), "url": job.value(params.get("url", ""), "url")}
    if params.get("sendQuery"):
        out["query"] = _pairs(job, params.get("queryParameters"), "queryParameters")
    if params.get("sendHeaders"):
        out["headers"] = _pairs(job, params.get("headerParameters"), "headerParameters")
    if params.get("sendBody"):
        content = params.get("contentType", "json")
        if content == "json" and params.get("specifyBody") == "json":
            out.update(body_type="json", body=job.value(params.get("jsonBody", ""), "jsonBody"))
        elif content in ("json", "form-urlencoded"):
            out.update(body_type="json" if content == "json" else "form",
                       body=_pairs(job, params.get("bodyParameters"), "bodyParameters"))
        elif content == "raw":
            out.update(body_type="raw", body=job.value(params.get("body", ""), "body"),
                       content_type=params.get("rawContentType", "text/plain"))
        else:
            raise Unsupported(f"body content type {content!r} has no LinkFlow counterpart")
    response = ((_options(params).get("response") or {}).get("response") or {})
    out["response_format"] = {"file": "binary", "text": "text"}.get(response.get("responseFormat"), "json")
    if response.get("neverError"):
        out["fail_on_status"] = False
    if _options(params).get("timeout"):
        out["timeout_s"] = max(float(_options(params)["timeout"]) / 1000, 0.001)
    if params.get("authentication", "none") != "none":
        out["authentication"] = "credential"
    if response.get("fullResponse"):
        job.problems.append({"node": job.name, "parameter": "options.response.fullResponse", "expression": None,
                             "severity": "warning",
                             "reason": "the full response is {status, headers, body} in LinkFlow (n8n: statusCode, "
                                       "statusMessage, headers, body): check the expressions that read it"})
    else:
        out["output"] = "body"  # the answer itself is the item, as in n8n
    return Converted("http_request", out)


def _execute_workflow(job: NodeJob, params: dict, version: float) -> Converted:
    workflow_id = params.get("workflowId")
    if isinstance(workflow_id, dict):
        workflow_id = workflow_id.get("value")
    if params.get("source", "database") != "database" or not workflow_id:
        raise Unsupported("only a sub-workflow chosen from the database is converted")
    job.problems.append({"node": job.name, "parameter": "workflowId", "expression": None, "severity": "warning",
                         "reason": f"n8n workflow id {workflow_id!r}: import that workflow too and set its "
                                   "LinkFlow id here"})
    mode = "once_per_item" if _options(params).get("mode") == "each" or params.get("mode") == "each" \
        else "once_for_all"
    return Converted("execute_workflow", {"workflow_id": str(workflow_id), "mode": mode})


CONVERTERS: dict[str, Callable[[NodeJob, dict, float], Converted]] = {
    "n8n-nodes-base.manualTrigger": lambda job, params, version: _no_input(Converted("manual_trigger", {})),
    "n8n-nodes-base.start": lambda job, params, version: _no_input(Converted("manual_trigger", {})),
    "n8n-nodes-base.webhook": _webhook,
    "n8n-nodes-base.scheduleTrigger": _schedule,
    "n8n-nodes-base.noOp": _plain("noop"),
    "n8n-nodes-base.set": _set,
    "n8n-nodes-base.if": _if,
    "n8n-nodes-base.filter": _filter,
    "n8n-nodes-base.switch": _switch,
    "n8n-nodes-base.merge": _merge,
    "n8n-nodes-base.sort": _sort,
    "n8n-nodes-base.limit": _limit,
    "n8n-nodes-base.aggregate": _aggregate,
    "n8n-nodes-base.splitOut": _split_out,
    "n8n-nodes-base.removeDuplicates": _remove_duplicates,
    "n8n-nodes-base.wait": _wait,
    "n8n-nodes-base.respondToWebhook": _respond,
    "n8n-nodes-base.stopAndError": _stop,
    "n8n-nodes-base.splitInBatches": _loop,
    "n8n-nodes-base.httpRequest": _http,
    "n8n-nodes-base.executeWorkflow": _execute_workflow,
}

# n8n credential types -> LinkFlow credential types, and the LinkFlow slot they bind to.
CREDENTIAL_TYPES = {"httpHeaderAuth": ("api_key_header", "auth"), "httpBasicAuth": ("http_basic", "auth"),
                    "httpBearerAuth": ("bearer_token", "auth"), "oAuth2Api": ("oauth2", "auth")}
