"""Custom resources: Istio, Prometheus Operator and Argo CD against their CRD schemas; Strimzi and Kong
against the minimal schemas in deploy/check/schemas (no package here ships theirs); and the guide's
numbers (topics, rate limits, routes) against the app's own."""

from __future__ import annotations

import json
import re

import jsonschema_rs
import pytest
import yaml

from backend.events.topics import TOPICS
from backend.settings import SecuritySettings
from tests.deploy.conftest import DEPLOY, TOOLS, documents, plain_manifests, render, run, tool

# The ops guide's Kafka table: topic -> (partitions, retention days)
GUIDE_TOPICS = {"workflow.events": (10, 7), "workflow.triggers": (5, 2), "execution.events": (20, 3),
                "execution.commands": (15, 1), "execution.results": (20, 5), "webhook.events": (10, 3),
                "schedule.triggers": (5, 1), "notification.events": (10, 2), "analytics.events": (15, 30),
                "audit.log": (5, 30), "dlq.events": (5, 14)}
CRD_GROUPS = ("networking.istio.io/", "security.istio.io/", "monitoring.coreos.com/", "argoproj.io/")


def custom_resources() -> list[dict]:
    found = [doc for docs in plain_manifests().values() for doc in docs
             if doc["apiVersion"].startswith(CRD_GROUPS)]
    for name in ("default", "prod"):
        found += [doc for doc in documents(render(name)) if doc["apiVersion"].startswith(CRD_GROUPS)]
    return found


def validate_crds(out_dir, docs: list[dict]) -> tuple[int, list[dict]]:
    result = run("node", TOOLS.parent / "deploy" / "check" / "crd_validate.mjs",
                 tool("crd-validate", "node_modules"), input=json.dumps(docs))
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def test_istio_prometheus_operator_and_argocd_objects_match_their_crd_schemas(out_dir):
    docs = custom_resources()
    kinds = {doc["kind"] for doc in docs}
    assert {"Gateway", "VirtualService", "DestinationRule", "PeerAuthentication", "AuthorizationPolicy",
            "ServiceMonitor", "PrometheusRule", "Application", "ApplicationSet"} <= kinds
    code, results = validate_crds(out_dir, docs)
    assert code == 0 and len(results) == len(docs), [r for r in results if r["errors"]]


def test_the_crd_validators_really_refuse_a_wrong_object(out_dir):
    wrong = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "x"},
             "spec": {"hosts": "not-a-list", "http": [{"route": [{"destination": {"host": "y"}, "wieght": 5}]}]}}
    code, [result] = validate_crds(out_dir, [wrong])
    assert code == 1 and "hosts" in result["errors"][0]
    assert "unknown field spec.http[0].route[0].wieght" in result["errors"]  # the typo, found by crd_fields.mjs
    typo = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"},
            "spec": {"selector": {}, "endpoints": [{"port": "http", "intervall": "30s"}]}}
    assert validate_crds(out_dir, [typo])[1][0]["errors"] == ["unknown field spec.endpoints[0].intervall"]


def test_istio_routes_the_guides_paths_to_linkflows_roles_with_a_95_5_canary():
    [app] = [d for d in documents((DEPLOY / "istio" / "virtual-service.yaml").read_text())
             if d["metadata"]["name"] == "linkflow-app"]
    routes = {r["name"]: r for r in app["spec"]["http"]}
    split = {d["destination"]["subset"]: d["weight"] for d in routes["workflows-canary-split"]["route"]}
    assert split == {"stable": 95, "canary": 5}
    assert routes["workflows-canary-explicit"]["match"][0]["headers"] == {"x-canary": {"exact": "true"}}
    assert routes["incoming-webhooks"]["route"][0]["destination"]["host"] == "linkflow-webhook"
    rules = documents((DEPLOY / "istio" / "destination-rule.yaml").read_text())
    outlier = rules[0]["spec"]["trafficPolicy"]["outlierDetection"]
    assert outlier == {"consecutive5xxErrors": 5, "interval": "30s", "baseEjectionTime": "30s", "maxEjectionPercent": 50}
    [peer] = [d for d in documents((DEPLOY / "istio" / "security.yaml").read_text()) if d["kind"] == "PeerAuthentication"]
    assert peer["spec"]["mtls"]["mode"] == "STRICT"


def test_argocd_syncs_automatically_with_self_heal():
    docs = {d["kind"]: d for path in ("project.yaml", "application.yaml", "environments/applicationset.yaml")
            for d in documents((DEPLOY / "argocd" / path).read_text())}
    assert docs["Application"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    template = docs["ApplicationSet"]["spec"]["template"]["spec"]
    assert template["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    envs = [e["env"] for e in docs["ApplicationSet"]["spec"]["generators"][0]["list"]["elements"]]
    assert envs == ["dev", "staging", "prod"]
    for env in envs:  # each path the ApplicationSet names exists
        assert (DEPLOY / "kustomize" / "overlays" / env / "kustomization.yaml").exists()


def strimzi() -> list[dict]:
    return [d for path in ("kafka.yaml", "topics.yaml") for d in documents((DEPLOY / "kafka" / path).read_text())]


def test_strimzi_resources_match_the_minimal_schema():
    validator = jsonschema_rs.validator_for(json.loads((DEPLOY / "check" / "schemas" / "strimzi.schema.json").read_text()))
    for doc in strimzi():
        assert [e.message for e in validator.iter_errors(doc)] == [], doc["metadata"]["name"]
    typo = {**strimzi()[-1], "spec": {**strimzi()[-1]["spec"], "partition": 3}}
    assert not validator.is_valid(typo)


def test_the_kafka_topics_are_the_guides_and_the_apps():
    topics = {d["spec"]["topicName"]: d["spec"] for d in strimzi() if d["kind"] == "KafkaTopic"}
    assert set(topics) == set(TOPICS) == set(GUIDE_TOPICS)
    for name, (partitions, days) in GUIDE_TOPICS.items():
        assert topics[name]["partitions"] == partitions, name
        assert topics[name]["config"]["retention.ms"] == days * 86_400_000, name
        assert topics[name]["replicas"] == 3


@pytest.fixture(scope="module")
def kong() -> dict:
    return yaml.safe_load((DEPLOY / "kong" / "kong.yaml").read_text())


def test_kong_config_matches_the_minimal_schema(kong):
    validator = jsonschema_rs.validator_for(json.loads((DEPLOY / "check" / "schemas" / "kong.schema.json").read_text()))
    assert [e.message for e in validator.iter_errors(kong)] == []
    broken = json.loads(json.dumps(kong))
    broken["services"][0]["routes"][0]["plugins"][0]["config"]["minutes"] = 5
    assert not validator.is_valid(broken)


def test_kong_rate_limits_are_the_apps_own(kong):
    security = SecuritySettings()
    limits = {route["name"]: route["plugins"][0]["config"] for service in kong["services"]
              for route in service["routes"] if route.get("plugins")}
    assert limits["api-anonymous"]["minute"] == security.rate_limit_anonymous_per_minute == 100
    assert limits["api-anonymous"]["limit_by"] == "ip"
    for name in ("api-bearer", "api-key"):
        assert limits[name]["minute"] == security.rate_limit_authenticated_per_minute == 1000
        assert limits[name]["limit_by"] == "header"


def test_kong_routes_reach_the_roles_the_chart_deploys(kong):
    services = {s["name"]: s for s in kong["services"]}
    chart_services = {d["metadata"]["name"] for d in documents(render("default")) if d["kind"] == "Service"}
    for service in services.values():
        host = re.match(r"https?://([^.:/]+)", service["url"]).group(1)
        assert host in chart_services, host
    paths = {p for s in services.values() for r in s["routes"] for p in r["paths"]}
    assert {"/api/v1/", "/webhook/", "/webhook-test/", "/webhook-waiting/", "/"} <= paths

