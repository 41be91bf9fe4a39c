"""The code-runner role as deployed (the chart, rendered into the Kustomize base): the pod that runs user
code holds nothing and reaches nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backend.sandbox.server import secrets_in
from backend.settings import CodeRunnerSettings

RENDERED = Path(__file__).resolve().parents[3] / "deploy" / "kustomize" / "base" / "linkflow.yaml"
SELECTOR = {"app.kubernetes.io/name": "linkflow", "app.kubernetes.io/instance": "linkflow",
            "app.kubernetes.io/component": "code-runner"}


def resources() -> dict[tuple[str, str], dict]:
    return {(doc["kind"], doc["metadata"]["name"]): doc
            for doc in yaml.safe_load_all(RENDERED.read_text()) if doc}


@pytest.fixture
def pod() -> dict:
    return resources()["Deployment", "linkflow-code-runner"]["spec"]["template"]["spec"]


def test_the_pod_has_no_token_no_root_no_capabilities_and_a_read_only_root(pod):
    assert pod["automountServiceAccountToken"] is False and pod["enableServiceLinks"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["command"] == ["linkflow"] and container["args"][:3] == ["serve", "--role", "code-runner"]
    assert "envFrom" not in container  # not even the shared ConfigMap: it names the database's peers
    assert {v["name"]: v["emptyDir"].get("medium") for v in pod["volumes"]} == {"tmp": "Memory"}


def test_its_environment_holds_no_secret_and_is_a_valid_runner_configuration(pod, monkeypatch):
    env = {item["name"]: item["value"] for item in pod["containers"][0]["env"]}
    assert secrets_in(env) == [] and not any("valueFrom" in item for item in pod["containers"][0]["env"])
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = CodeRunnerSettings()  # container mode with one slot: accepted by the role
    assert (settings.mode, settings.code.sandbox, settings.code.runner_concurrency) == ("production", "container", 1)


def test_no_egress_and_ingress_only_from_workers():
    found = resources()
    policy = found["NetworkPolicy", "linkflow-code-runner"]["spec"]
    assert policy["podSelector"]["matchLabels"] == SELECTOR
    assert policy["policyTypes"] == ["Ingress", "Egress"] and policy["egress"] == []
    [rule] = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {**SELECTOR, "app.kubernetes.io/component": "worker"}}}]
    assert found["Service", "linkflow-code-runner"]["spec"]["selector"] == SELECTOR


def test_the_workers_send_code_to_it():
    config = resources()["ConfigMap", "linkflow-config"]["data"]
    assert config["LINKFLOW_CODE_SANDBOX"] == "remote"
    assert config["LINKFLOW_CODE_RUNNER_URL"] == "http://linkflow-code-runner:8000"
