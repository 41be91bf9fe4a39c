"""The Helm chart and the Kustomize overlays: lint, schemas, security scan, and the guide's numbers."""

from __future__ import annotations

import json

import pytest

from backend.cli import build_parser
from tests.deploy.conftest import (
    CHART,
    DEPLOY,
    K8S_VERSION,
    OVERLAYS,
    ROOT,
    TOOLS,
    VALUES,
    documents,
    kustomize,
    objects,
    plain_manifests,
    render,
    run,
    tool,
)

CRD_KINDS = ("ServiceMonitor,PrometheusRule,Gateway,VirtualService,DestinationRule,PeerAuthentication,"
             "AuthorizationPolicy,Kafka,KafkaTopic,KafkaNodePool,Application,ApplicationSet,AppProject")


@pytest.mark.parametrize("name", VALUES)
def test_helm_lint_passes_for_every_values_file(name):
    command = [tool("go", "bin", "helm"), "lint", "--strict", CHART]
    for values in VALUES[name]:
        command += ["-f", CHART / values]
    result = run(*command)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_kustomize_base_is_the_charts_current_render():
    result = run(ROOT / ".venv" / "bin" / "python", DEPLOY / "check" / "render.py", "base", "--check")
    assert result.returncode == 0, result.stderr


def all_rendered(out_dir) -> list:
    files = []
    for name in VALUES:
        files.append(out_dir / f"helm-{name}.yaml")
        files[-1].write_text(render(name))
    for overlay in OVERLAYS:
        files.append(out_dir / f"kustomize-{overlay}.yaml")
        files[-1].write_text(kustomize(overlay))
    return files


def test_every_object_matches_the_kubernetes_schema_strictly(out_dir):
    """kubeconform -strict against Kubernetes' own JSON schemas (from PyPI's kubernetes-validate): unknown
    fields, wrong types and missing required fields fail. Custom resources are checked in test_gateways."""
    schemas = tool("k8s-schemas")
    files = all_rendered(out_dir) + [DEPLOY / name for name in ("tracing/otel-collector.yaml",
                                                                "logging/promtail.yaml",
                                                                "logging/grafana-datasources.yaml")]
    result = run(tool("go", "bin", "kubeconform"), "-strict", "-summary", "-output", "json",
                 "-kubernetes-version", K8S_VERSION, "-skip", CRD_KINDS, "-schema-location",
                 f"{schemas}/{{{{ .NormalizedKubernetesVersion }}}}-standalone{{{{ .StrictSuffix }}}}/"
                 "{{ .ResourceKind }}{{ .KindSuffix }}.json", *files)
    report = json.loads(result.stdout)
    problems = [r for r in report["resources"] if r["status"] not in ("statusValid", "statusSkipped")]
    assert result.returncode == 0 and not problems, json.dumps(problems, indent=1)[:4000]
    assert report["summary"]["valid"] > 200


def test_kubeconform_really_refuses_a_wrong_object(out_dir):
    bad = out_dir / "bad.yaml"
    bad.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: two, selector: "
                   "{matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: "
                   "[{name: c, image: i, imagePullPolicie: Always}]}}}\n")
    result = run(tool("go", "bin", "kubeconform"), "-strict", "-kubernetes-version", K8S_VERSION,
                 "-schema-location", f"{TOOLS / 'k8s-schemas'}/{{{{ .NormalizedKubernetesVersion }}}}-standalone"
                 "{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json", bad)
    assert result.returncode == 1 and "imagePullPolicie" in result.stdout and "replicas" in result.stdout


def test_checkov_finds_no_failure_and_every_exception_is_justified(out_dir):
    files = all_rendered(out_dir) + [DEPLOY / "tracing" / "otel-collector.yaml"]
    failed, passed = [], 0
    for path in files:
        result = run(tool("deploy-venv", "bin", "checkov"), "-f", path, "--framework", "kubernetes",
                     "--skip-download", "--quiet", "--output", "json")
        report = json.loads(result.stdout)
        for block in report if isinstance(report, list) else [report]:
            results = block.get("results", {})
            passed += block["summary"]["passed"]
            failed += [(path.name, c["check_id"], c["resource"]) for c in results.get("failed_checks", [])]
            for skipped in results.get("skipped_checks", []):
                assert len(skipped.get("suppress_comment", "")) > 20, f"unjustified skip {skipped['check_id']}"
    assert failed == [] and passed > 3000


def test_the_hpas_carry_the_guides_ranges_and_workers_also_scale_on_queue_depth():
    hpas = objects("HorizontalPodAutoscaler", render("default"))
    ranges = {name.removeprefix("linkflow-"): (h["spec"]["minReplicas"], h["spec"]["maxReplicas"])
              for name, h in hpas.items()}
    # auth/api 2-10, workflow 3-15 (the api role serves both: the larger), webhook 3-20, executor 10-100
    assert ranges == {"api": (3, 15), "webhook": (3, 20), "worker": (10, 100), "ui": (2, 10), "code-runner": (2, 20)}
    for hpa in hpas.values():
        cpu = hpa["spec"]["metrics"][0]["resource"]
        assert cpu["name"] == "cpu" and cpu["target"]["averageUtilization"] == 70
    [external] = [m for m in hpas["linkflow-worker"]["spec"]["metrics"] if m["type"] == "External"]
    assert external["external"]["metric"]["name"] == "linkflow_queue_depth"


def test_every_role_runs_a_command_the_cli_accepts_with_probes_on_its_own_port():
    parser = build_parser()
    for text in (render("default"), render("canary"), kustomize("prod")):
        deployments = objects("Deployment", text)
        assert len(deployments) >= 8
        for name, deployment in deployments.items():
            [container] = deployment["spec"]["template"]["spec"]["containers"]
            assert container["command"] == ["linkflow"], name
            args = parser.parse_args(container["args"])  # exits (fails the test) on a wrong command
            ports = {p["name"] for p in container["ports"]}
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["port"] in ports, (name, probe)
            assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
            assert container["livenessProbe"]["httpGet"]["path"] == "/health"
            web = args.command == "serve"
            assert ports == ({"http"} if web else {"metrics"}), name


def test_every_pod_is_locked_down():
    for text in (render("default"), render("prod"), kustomize("dev")):
        for doc in documents(text):
            if doc["kind"] not in ("Deployment", "Job", "CronJob") or "linkflow" not in doc["metadata"]["name"]:
                continue
            spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"] if doc["kind"] == "CronJob" \
                else doc["spec"]["template"]["spec"]
            assert spec["automountServiceAccountToken"] is False and spec["securityContext"]["runAsNonRoot"]
            for container in spec["containers"] + spec.get("initContainers", []):
                security = container["securityContext"]
                assert security["readOnlyRootFilesystem"] and not security["allowPrivilegeEscalation"]
                assert security["capabilities"]["drop"] == ["ALL"]
                assert "limits" in container["resources"] and "requests" in container["resources"]


def test_secrets_come_from_a_secret_and_the_code_runner_gets_none():
    deployments = objects("Deployment", render("default"))
    for name, deployment in deployments.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container.get("env", [])}
        if name == "linkflow-code-runner":
            assert not any("valueFrom" in item for item in env.values()) and "envFrom" not in container
            continue
        for secret in ("LINKFLOW_DATABASE_URL", "LINKFLOW_SECURITY_SECRET_KEY", "LINKFLOW_SECURITY_VAULT_KEYS"):
            assert env[secret]["valueFrom"]["secretKeyRef"]["name"] == "linkflow", (name, secret)
    config = objects("ConfigMap", render("default"))["linkflow-config"]["data"]
    assert not any(word in key for key in config for word in ("SECRET", "PASSWORD", "VAULT", "DATABASE_URL"))


def test_the_migrations_run_as_a_hook_before_the_pods_and_the_backup_runs_nightly():
    jobs = objects("Job", render("default"))
    [migrations] = jobs.values()
    assert migrations["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert migrations["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    [backup] = objects("CronJob", render("default")).values()
    assert backup["spec"]["schedule"] == "0 2 * * *"
    assert "postgres" in backup["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]


def test_every_plain_manifest_parses_and_names_its_namespace():
    for path, docs in plain_manifests().items():
        assert docs, path
        for doc in docs:
            assert doc["metadata"].get("namespace"), (path, doc["metadata"]["name"])


def test_storage_values_become_settings_and_s3_keys_come_from_their_secret(tmp_path):
    values = tmp_path / "s3.yaml"
    values.write_text("storage:\n  backend: s3\n  spillThresholdBytes: 33554432\n  s3:\n    bucket: lf-files\n"
                      "    endpointUrl: http://minio:9000\n    sse: AES256\n    existingSecret: lf-s3\n")
    result = run(tool("go", "bin", "helm"), "template", "linkflow", CHART, "--namespace", "linkflow", "-f", values)
    assert result.returncode == 0, result.stderr
    config = objects("ConfigMap", result.stdout)["linkflow-config"]["data"]
    assert {k: v for k, v in config.items() if k.startswith("LINKFLOW_STORAGE_")} == {
        "LINKFLOW_STORAGE_BACKEND": "s3", "LINKFLOW_STORAGE_INLINE_LIMIT_BYTES": "65536",
        "LINKFLOW_STORAGE_SPILL_THRESHOLD_BYTES": "33554432", "LINKFLOW_STORAGE_S3_BUCKET": "lf-files",
        "LINKFLOW_STORAGE_S3_ENDPOINT_URL": "http://minio:9000", "LINKFLOW_STORAGE_S3_REGION": "us-east-1",
        "LINKFLOW_STORAGE_S3_PREFIX": "", "LINKFLOW_STORAGE_S3_SSE": "AES256", "LINKFLOW_STORAGE_S3_SSE_KMS_KEY_ID": ""}
    for name, deployment in objects("Deployment", result.stdout).items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container.get("env", [])}
        if name == "linkflow-code-runner":
            assert "LINKFLOW_STORAGE_S3_SECRET_ACCESS_KEY" not in env
            continue
        for key, secret_key in (("LINKFLOW_STORAGE_S3_ACCESS_KEY_ID", "access-key-id"),
                                ("LINKFLOW_STORAGE_S3_SECRET_ACCESS_KEY", "secret-access-key")):
            assert env[key]["valueFrom"]["secretKeyRef"] == {"name": "lf-s3", "key": secret_key}, name
    default = objects("ConfigMap", render("default"))["linkflow-config"]["data"]
    assert default["LINKFLOW_STORAGE_BACKEND"] == "local" and "LINKFLOW_STORAGE_S3_BUCKET" not in default
