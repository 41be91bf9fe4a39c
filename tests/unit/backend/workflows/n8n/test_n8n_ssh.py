"""n8n's SSH node (n8n-nodes-base.ssh) converted to LinkFlow's ``ssh`` node; tests/integration/test_node_ssh.py
runs the converted fixture against a real sshd."""

from __future__ import annotations

import json
from pathlib import Path

from backend.workflows.n8n.service import convert_file

FIXTURE = Path(__file__).parents[4] / "fixtures" / "n8n" / "ssh_backup_report.json"


def _convert(nodes: list) -> tuple[dict, object]:
    start = {"parameters": {}, "name": "Start", "type": "n8n-nodes-base.manualTrigger", "typeVersion": 1,
             "position": [0, 0]}
    result = convert_file(json.dumps({"name": "w", "nodes": [start, *nodes], "connections": {}}))
    return {n["name"]: n for n in result.workflow["nodes"]}, result


def test_the_fixture_converts_every_node_with_its_credentials_by_name():
    result = convert_file(FIXTURE.read_bytes())
    nodes = {n["name"]: n for n in result.workflow["nodes"]}
    assert nodes["Write report"]["type"] == "ssh" and nodes["Write report"]["parameters"] == {
        "resource": "command", "operation": "execute", "cwd": "{{ $json.home }}",
        "command": "mkdir -p {{ $json.folder }} && printf '%s' '{{ $json.report }}' > {{ $json.folder }}/report.txt"
                   " && echo {{ $json.report.upper() }}"}
    assert nodes["Fetch report"]["parameters"]["operation"] == "download"
    assert nodes["Fetch report"]["parameters"]["binary_property"] == "report"
    assert nodes["Upload copy"]["parameters"]["file_name"] == "copy.txt"
    assert not any(n.get("disabled") for n in result.workflow["nodes"])
    assert {(c["node_name"], c["slot"], c["type"], c["name"]) for c in result.credentials} == {
        ("Write report", "ssh", "ssh", "Backup box"), ("Fetch report", "ssh", "ssh", "Backup box"),
        ("Upload copy", "ssh", "ssh", "Backup box key"), ("Check copy", "ssh", "ssh", "Backup box key")}


def test_defaults_follow_n8n():
    nodes, _ = _convert([{"parameters": {"command": "ls"}, "name": "Run", "type": "n8n-nodes-base.ssh",
                          "typeVersion": 1, "position": [200, 0]},
                         {"parameters": {"resource": "file", "path": "/srv"}, "name": "Up", "type": "n8n-nodes-base.ssh",
                          "typeVersion": 1, "position": [400, 0]}])
    assert nodes["Run"]["parameters"] == {"resource": "command", "operation": "execute", "command": "ls", "cwd": "/"}
    assert nodes["Up"]["parameters"] == {"resource": "file", "operation": "upload", "path": "/srv",
                                         "binary_property": "data"}


def test_an_unknown_operation_is_reported_by_name_and_the_rest_converts():
    nodes, result = _convert([{"parameters": {"resource": "file", "operation": "rename"}, "name": "Odd",
                               "type": "n8n-nodes-base.ssh", "typeVersion": 1, "position": [200, 0]}])
    assert nodes["Odd"]["disabled"] is True
    assert any(p["node"] == "Odd" and "SSH file 'rename' is not converted" in p["reason"] for p in result.report)
