"""An n8n workflow export -> a LinkFlow workflow file plus a report of what could not be converted.

    result = convert(json.loads(Path("n8n.json").read_text()))
    result.workflow   # {"name", "nodes", "connections", "settings", "pin_data", "sticky_notes", "tags"}
    result.report     # [{"node", "parameter", "expression", "reason", "severity"}, ...]

A node whose type has no LinkFlow counterpart, or with a parameter or expression that cannot be
converted exactly, is imported disabled (a node of an unknown type becomes a disabled No-op keeping its
name and position) and listed in the report; the rest of the workflow is converted. Input that is not
an n8n workflow, too large, nested too deeply, with keys such as ``__proto__`` or with an expression
that reaches for the host raises ``N8nImportError``: nothing is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from backend import json_limits
from backend.errors import UserError
from backend.workflows.n8n import ai, integrations, integrations_saas, vendor_triggers
from backend.workflows.n8n.js_lexer import Refused, Unsupported
from backend.workflows.n8n.nodes import CONVERTERS, CREDENTIAL_TYPES, Converted, NodeJob
from backend.workflows.n8n.values import convert_value

MAX_BYTES = 5_000_000
MAX_DEPTH = 64
MAX_NODES = 1_000
FORBIDDEN_KEYS = frozenset({"__proto__", "constructor", "prototype"})
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STICKY = "n8n-nodes-base.stickyNote"
CONVERTERS = {**CONVERTERS, **integrations.CONVERTERS, **ai.CONVERTERS}
CREDENTIAL_TYPES = {**CREDENTIAL_TYPES, **integrations.CREDENTIAL_TYPES, **ai.CREDENTIAL_TYPES}
CONVERTERS.update(integrations_saas.CONVERTERS)
CREDENTIAL_TYPES.update(integrations_saas.CREDENTIAL_TYPES)
CONVERTERS.update(vendor_triggers.CONVERTERS)
CREDENTIAL_TYPES.update(vendor_triggers.CREDENTIAL_TYPES)


class N8nImportError(UserError):
    status_code = 422


@dataclass
class Result:
    workflow: dict
    report: list[dict] = field(default_factory=list)
    credentials: list[dict] = field(default_factory=list)  # {node, slot, n8n_type, name, type}: to bind by name


def parse(text: str | bytes) -> dict:
    """The n8n file's JSON, refusing what is too large or too deep before parsing it."""
    if len(text) > MAX_BYTES:
        raise N8nImportError(f"the n8n file is {len(text):,} bytes; at most {MAX_BYTES:,} are accepted")
    try:
        data = json_limits.loads(text, limit=MAX_DEPTH, what="the n8n file")
    except ValueError as exc:
        raise N8nImportError(f"the n8n file is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise N8nImportError("an n8n workflow file is a JSON object with 'nodes' and 'connections'")
    return data


def _check_keys(value: Any, path: str = "") -> None:
    stack = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, dict):
            for key, child in current.items():
                if key in FORBIDDEN_KEYS:
                    raise N8nImportError(f"the n8n file has a key {key!r} at {where or 'the top'}; such keys "
                                         "are refused (they are used to attack JavaScript programs)")
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(current, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(current))


def _shape(data: dict) -> tuple[list[dict], dict]:
    nodes, connections = data.get("nodes"), data.get("connections", {})
    if not isinstance(nodes, list) or not isinstance(connections, dict):
        raise N8nImportError("not an n8n workflow: 'nodes' must be a list and 'connections' an object "
                             "(a LinkFlow export is imported with 'Import', not 'Import from n8n')")
    if len(nodes) > MAX_NODES:
        raise N8nImportError(f"the workflow has {len(nodes):,} nodes; at most {MAX_NODES:,} are imported")
    names = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("name"), str) or \
                not isinstance(node.get("type"), str) or not node["name"].strip() or len(node["name"]) > 200:
            raise N8nImportError(f"nodes[{i}] is not an n8n node: it needs a 'name' (1-200 characters) and a 'type'")
        if node["name"] in names:
            raise N8nImportError(f"two nodes are named {node['name']!r}; n8n node names are unique")
        names.add(node["name"])
    return nodes, connections


def _version(node: dict) -> float:
    version = node.get("typeVersion", 1)
    return float(version) if isinstance(version, (int, float)) and not isinstance(version, bool) else 1.0


def _settings(node: dict) -> dict:
    settings: dict[str, Any] = {}
    if node.get("retryOnFail"):
        tries = node.get("maxTries", 3)
        wait = node.get("waitBetweenTries", 1000)
        settings["retry"] = {"max_tries": int(tries) if isinstance(tries, int) and 1 <= tries <= 100 else 3,
                             "wait_ms": int(wait) if isinstance(wait, int) and wait >= 0 else 1000}
    on_error = node.get("onError") or ("continueRegularOutput" if node.get("continueOnFail") else "stopWorkflow")
    settings["on_error"] = {"continueRegularOutput": "continue", "continueErrorOutput": "error_output"}.get(
        on_error, "stop")
    if node.get("alwaysOutputData"):
        settings["always_output"] = True
    return settings


class _Workflow:
    def __init__(self, data: dict) -> None:
        self.data, self.report, self.credentials = data, [], []
        self.ids: dict[str, str] = {}
        self.ports: dict[str, Converted] = {}

    def problem(self, node: str | None, reason: str, *, parameter: str | None = None,
                expression: str | None = None, severity: str = "error") -> None:
        self.report.append({"node": node, "parameter": parameter, "expression": expression, "reason": reason,
                            "severity": severity})

    def node_id(self, node: dict, index: int) -> str:
        raw = node.get("id")
        candidate = raw if isinstance(raw, str) and _ID.match(raw) and raw not in self.ids.values() \
            else f"n{index + 1}"
        self.ids[node["name"]] = candidate
        return candidate

    def node(self, node: dict, index: int) -> dict:
        name, n8n_type = node["name"], node["type"]
        job = NodeJob(name)
        params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
        converted, reason = None, None
        converter = CONVERTERS.get(n8n_type)
        if converter is None:
            reason = f"node type {n8n_type!r} has no LinkFlow counterpart"
            if n8n_type in ("n8n-nodes-base.code", "n8n-nodes-base.function", "n8n-nodes-base.functionItem"):
                reason = f"{n8n_type}: JavaScript code is not converted (LinkFlow's Code node runs Python); rewrite it"
        else:
            try:
                converted = converter(job, params, _version(node))
            except Refused:
                raise
            except (Unsupported, ValueError, TypeError, AttributeError) as exc:
                reason = f"{n8n_type} (version {node.get('typeVersion', 1)}): {exc}"
        position = node.get("position")
        out = {"id": self.node_id(node, index), "name": name, "version": 1,
               "position": list(position[:2]) if isinstance(position, list) and len(position) >= 2 and all(
                   isinstance(p, (int, float)) and not isinstance(p, bool) for p in position[:2]) else [0, 0]}
        if converted is None:
            self.problem(name, reason)
            converted = Converted("noop", {})
            out["disabled"] = True
        for p in job.problems:
            self.problem(p["node"], p["reason"], parameter=p.get("parameter"), expression=p.get("expression"),
                         severity=p.get("severity", "error"))
        if any(p.get("severity", "error") == "error" for p in job.problems):
            out["disabled"] = True
        self.ports[name] = converted
        out.update(type=converted.type, parameters=converted.parameters, settings=_settings(node))
        if node.get("disabled"):
            out["disabled"] = True
        notes = node.get("notes")
        if isinstance(notes, str):
            out["notes"] = notes[:10_000]
        if converted.type == "noop" and n8n_type not in CONVERTERS:
            out["notes"] = (f"n8n node {n8n_type} (not converted). " + out.get("notes", ""))[:10_000]
        self._credentials(node, out)
        return out

    def _credentials(self, node: dict, out: dict) -> None:
        raw = node.get("credentials")
        for n8n_type, ref in (raw.items() if isinstance(raw, dict) else []):
            name = ref.get("name") if isinstance(ref, dict) else None
            mapped = CREDENTIAL_TYPES.get(n8n_type)
            if mapped is None or not isinstance(name, str):
                self.problem(node["name"], f"credential {name!r} of n8n type {n8n_type!r} has no LinkFlow counterpart; "
                             "bind one in the editor", severity="warning")
                continue
            self.credentials.append({"node": out["id"], "node_name": node["name"], "slot": mapped[1],
                                     "type": mapped[0], "name": name})

    def connections(self, connections: dict) -> list[dict]:
        out = []
        for source, by_type in connections.items():
            if source not in self.ids or not isinstance(by_type, dict):
                self.problem(source, "a connection starts at a node that does not exist; it was dropped",
                             severity="warning")
                continue
            outputs = self.ports[source].outputs
            error_port = self.data_nodes[source].get("onError") == "continueErrorOutput"
            main = by_type.get("main")
            for index, targets in enumerate(main if isinstance(main, list) else []):
                port = outputs[index] if index < len(outputs) else ("error" if error_port else None)
                for target in targets if isinstance(targets, list) else []:
                    out += self._connection(source, port, target, index)
            for kind in by_type:
                if kind != "main":
                    self.problem(source, f"'{kind}' connections (AI sub-nodes) have no LinkFlow counterpart",
                                 severity="warning")
        return out

    def _connection(self, source: str, port: str | None, target: Any, index: int) -> list[dict]:
        name = target.get("node") if isinstance(target, dict) else None
        if not isinstance(name, str) or name not in self.ids:
            self.problem(source, f"a connection goes to a node that does not exist ({name!r}); it was dropped",
                         severity="warning")
            return []
        if port is None:
            self.problem(source, f"output {index} has no LinkFlow counterpart; its connection to {name!r} was dropped")
            return []
        inputs, slot = self.ports[name].inputs, target.get("index", 0)
        if not inputs or not isinstance(slot, int) or not 0 <= slot < len(inputs):
            self.problem(name, f"input {slot} has no LinkFlow counterpart; the connection from {source!r} was dropped")
            return []
        return [{"from": self.ids[source], "output": port, "to": self.ids[name], "input": inputs[slot]}]


def _sticky(node: dict, index: int) -> dict:
    params = node.get("parameters") if isinstance(node.get("parameters"), dict) else {}
    position = node.get("position") if isinstance(node.get("position"), list) else [0, 0]
    size = [params.get("width", 240), params.get("height", 160)]
    return {"id": f"s{index + 1}", "text": str(params.get("content", ""))[:20_000],
            "position": [p if isinstance(p, (int, float)) else 0 for p in (position + [0, 0])[:2]],
            "size": [s if isinstance(s, (int, float)) and s > 0 else 240 for s in size]}


def _workflow_settings(raw: Any, flow: _Workflow) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    settings: dict[str, Any] = {}
    if isinstance(raw.get("timezone"), str) and raw["timezone"] != "DEFAULT":
        settings["timezone"] = raw["timezone"]
    timeout = raw.get("executionTimeout")
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
        settings["timeout_s"] = float(timeout)
    success, failure = raw.get("saveDataSuccessExecution", "all"), raw.get("saveDataErrorExecution", "all")
    settings["save_data"] = "none" if success == failure == "none" else "errors" if success == "none" else "all"
    if raw.get("errorWorkflow"):
        flow.problem(None, f"the error workflow {raw['errorWorkflow']!r} is an n8n id; import it and choose it in "
                     "the workflow's settings", parameter="settings.errorWorkflow", severity="warning")
    return settings


def _pin_data(raw: Any, names: set[str], flow: _Workflow) -> dict:
    pins = {}
    for name, items in (raw.items() if isinstance(raw, dict) else []):
        if name not in names or not isinstance(items, list):
            flow.problem(name, "pinned data for a node that does not exist was dropped", severity="warning")
            continue
        pins[name] = [item if isinstance(item, dict) and set(item) <= {"json", "binary"} and "json" in item
                      else {"json": item} for item in items]
        pins[name] = [{"json": item["json"]} for item in pins[name] if isinstance(item["json"], dict)]
    return pins


def convert(data: dict) -> Result:
    """Convert a parsed n8n workflow; raises ``N8nImportError`` for input that must not be imported."""
    _check_keys(data)
    nodes, connections = _shape(data)
    flow = _Workflow(data)
    nodes, connections = ai.merge_models(nodes, connections, flow.problem)
    flow.data_nodes = {n["name"]: n for n in nodes}
    lf_nodes, stickies = [], []
    try:
        for index, node in enumerate(nodes):
            if node["type"] == _STICKY:
                stickies.append(_sticky(node, index))
            else:
                lf_nodes.append(flow.node(node, index))
    except Refused as exc:
        raise N8nImportError(f"node {node['name']!r}: {exc}; nothing was imported") from None
    name = data.get("name") if isinstance(data.get("name"), str) and data["name"].strip() else "Imported from n8n"
    raw_tags = data.get("tags")
    tags = [t.get("name") if isinstance(t, dict) else t for t in (raw_tags if isinstance(raw_tags, list) else [])]
    workflow = {"name": name.strip()[:200], "nodes": lf_nodes, "connections": flow.connections(connections),
                "settings": _workflow_settings(data.get("settings"), flow),
                "pin_data": _pin_data(data.get("pinData"), {n["name"] for n in lf_nodes}, flow),
                "sticky_notes": stickies[:200],
                "tags": [t.strip()[:50] for t in tags if isinstance(t, str) and t.strip()][:20]}
    return Result(workflow, flow.report, flow.credentials)


__all__ = ["N8nImportError", "Result", "convert", "convert_value", "parse"]
