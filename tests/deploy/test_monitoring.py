"""Alerts (promtool), the Grafana dashboard, and that both only read metrics LinkFlow exports."""

from __future__ import annotations

import json
import re

import jsonschema_rs
import yaml

from tests.deploy.conftest import CHART, DEPLOY, ROOT, documents, render, run, tool

ALERTS = CHART / "files" / "alerts.yaml"
DASHBOARDS = sorted((CHART / "files" / "dashboards").glob("*.json"))
GUIDE_ALERTS = {"HighErrorRate": ("critical", "5m"), "ServiceDown": ("critical", "2m"),
                "HighLatency": ("warning", "10m"), "KafkaLag": ("warning", "5m"),
                "PodCrashLooping": ("warning", None), "DiskPressure": ("warning", "5m")}
# Series that come from elsewhere: kube-state-metrics and the kubelet.
EXTERNAL = {"kube_deployment_status_replicas_available", "kube_pod_container_status_restarts_total",
            "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes"}
# A minimal schema of a Grafana dashboard (Grafana publishes none on the reachable registries): the
# fields provisioning needs, each panel's grid position and Prometheus targets.
DASHBOARD_SCHEMA = {
    "type": "object", "required": ["uid", "title", "schemaVersion", "panels", "templating"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,40}$"}, "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "panels": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["id", "type", "title", "gridPos", "targets"],
            "properties": {"type": {"enum": ["timeseries", "stat", "gauge", "table", "bargauge", "heatmap"]},
                           "gridPos": {"type": "object", "required": ["h", "w", "x", "y"],
                                       "properties": {"w": {"type": "integer", "minimum": 1, "maximum": 24},
                                                      "x": {"type": "integer", "minimum": 0, "maximum": 23}}},
                           "targets": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["refId", "expr"]}}}}}}}


def test_promtool_checks_the_rules_and_every_alert_has_a_passing_unit_test():
    promtool = tool("go", "bin", "promtool")
    check = run(promtool, "check", "rules", ALERTS)
    assert check.returncode == 0 and "SUCCESS: 6 rules found" in check.stdout, check.stdout + check.stderr
    tests = run(promtool, "test", "rules", DEPLOY / "monitoring" / "alerts.test.yaml")
    assert tests.returncode == 0 and "SUCCESS" in tests.stdout, tests.stdout + tests.stderr
    tested = {t["alertname"] for case in yaml.safe_load((DEPLOY / "monitoring" / "alerts.test.yaml").read_text())["tests"]
              for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert tested == set(GUIDE_ALERTS)


def test_promtool_test_fails_when_an_alert_is_wrong(out_dir):
    broken = ALERTS.read_text().replace("> 0.05", "> 0.5")
    (out_dir / "alerts.yaml").write_text(broken)
    tests = yaml.safe_load((DEPLOY / "monitoring" / "alerts.test.yaml").read_text())
    tests["rule_files"] = [str(out_dir / "alerts.yaml")]
    (out_dir / "alerts.test.yaml").write_text(yaml.safe_dump(tests))
    result = run(tool("go", "bin", "promtool"), "test", "rules", out_dir / "alerts.test.yaml")
    assert result.returncode == 1 and "HighErrorRate" in result.stdout + result.stderr


def test_the_six_alerts_have_the_guides_severity_and_duration():
    rules = {r["alert"]: r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
    assert {name: (r["labels"]["severity"], r.get("for")) for name, r in rules.items()} == GUIDE_ALERTS
    [rule] = [d for d in documents(render("default")) if d["kind"] == "PrometheusRule"]
    assert rule["spec"] == yaml.safe_load(ALERTS.read_text())  # the chart ships exactly the tested file


def exported_metrics() -> set[str]:
    """Every metric name the app registers (backend/observability.py, backend/metrics.py)."""
    names = set()
    for path in (ROOT / "backend" / "observability.py", ROOT / "backend" / "metrics.py"):
        names |= set(re.findall(r'"(linkflow_[a-z_]+)"', path.read_text()))
    return names


def queried_metrics(expr: str) -> set[str]:
    return {m.removesuffix("_bucket") for m in re.findall(r"\b([a-z_]+)\s*[{\[(]", expr)
            if m.startswith(("linkflow_", "kube_", "kubelet_"))}


def test_dashboards_match_the_schema_and_their_queries_parse(out_dir):
    validator = jsonschema_rs.validator_for(DASHBOARD_SCHEMA)
    exprs = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert [e.message for e in validator.iter_errors(dashboard)] == [], path.name
        exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    # promtool parses PromQL: each query as a recording rule ($namespace filled in as Grafana would)
    rules = {"groups": [{"name": "dashboards", "rules": [
        {"record": f"dashboard:query_{i}", "expr": e.replace("$namespace", "linkflow")} for i, e in enumerate(exprs)]}]}
    (out_dir / "dashboard-queries.yaml").write_text(yaml.safe_dump(rules))
    result = run(tool("go", "bin", "promtool"), "check", "rules", out_dir / "dashboard-queries.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(exprs) >= 15


def test_dashboards_and_alerts_read_only_metrics_that_exist():
    exported = exported_metrics()
    assert {"linkflow_executions_in_progress", "linkflow_queue_depth", "linkflow_kafka_consumer_lag",
            "linkflow_outbox_backlog", "linkflow_db_pool_connections", "linkflow_step_duration_seconds",
            "linkflow_execution_duration_seconds", "linkflow_http_request_duration_seconds"} <= exported
    texts = [ALERTS.read_text()] + [t["expr"] for p in DASHBOARDS for panel in json.loads(p.read_text())["panels"]
                                    for t in panel["targets"]]
    used = set().union(*(queried_metrics(t) for t in texts))
    assert used - exported - EXTERNAL == set()
    assert exported - used == set(), "a metric no dashboard or alert shows"


def test_the_dashboard_configmap_carries_every_dashboard():
    [configmap] = [d for d in documents(render("default")) if d["metadata"]["name"] == "linkflow-dashboards"]
    assert sorted(configmap["data"]) == [p.name for p in DASHBOARDS]
    assert json.loads(configmap["data"][DASHBOARDS[0].name]) == json.loads(DASHBOARDS[0].read_text())
