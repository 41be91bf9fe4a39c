"""make deploy-check: the manifests, proven without a cluster. Tools come from deploy/check/tools.sh
(`make deploy-tools`); a missing tool is a failure that says how to get it, never a skip."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "linkflow"
TOOLS = ROOT / ".tools"
K8S_VERSION = "1.33.0"
VALUES = {"default": [], "dev": ["values-dev.yaml"], "staging": ["values-staging.yaml"],
          "prod": ["values-prod.yaml"], "canary": ["values-prod.yaml", "values-canary.yaml"]}
OVERLAYS = ("dev", "staging", "prod")


def tool(*parts: str) -> Path:
    path = TOOLS.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make deploy-tools` (deploy/check/tools.sh build)")
    return path


def run(*command, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=ROOT, **kwargs)


@functools.cache
def render(name: str) -> str:
    command = [tool("go", "bin", "helm"), "template", "linkflow", CHART, "--namespace", "linkflow"]
    for values in VALUES[name]:
        command += ["-f", CHART / values]
    result = run(*command)
    assert result.returncode == 0, result.stderr
    return result.stdout


@functools.cache
def kustomize(overlay: str) -> str:
    result = run("kubectl", "kustomize", DEPLOY / "kustomize" / "overlays" / overlay)
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def plain_manifests() -> dict[str, list[dict]]:
    """The manifests applied with kubectl as they are (not rendered): istio, kafka, argocd, tracing, logging."""
    found = {}
    for folder in ("istio", "kafka", "argocd", "tracing", "logging"):
        for path in sorted((DEPLOY / folder).rglob("*.yaml")):
            found[str(path.relative_to(ROOT))] = documents(path.read_text())
    return found


def objects(kind: str, text: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents(text) if doc["kind"] == kind}


@pytest.fixture(scope="session")
def out_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("deploy-check")


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


@pytest.fixture(scope="session")
def infra() -> dict[str, str]:
    """The loopback services of deploy/local/infra.sh (`eval "$(bash deploy/local/infra.sh env)"`)."""
    import os

    names = ("LINKFLOW_TEST_POSTGRES_URL", "LINKFLOW_TEST_REDIS_URL", "LINKFLOW_TEST_KAFKA_BOOTSTRAP")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not set: run `make deploy-check` (it starts PostgreSQL, Redis and "
                    "Kafka with deploy/local/infra.sh and exports them)")
    return {n: os.environ[n] for n in names}


@pytest.fixture
def fresh_database(infra):
    """A database of its own on the loopback PostgreSQL: (SQLAlchemy URL, libpq URL); dropped afterwards."""
    import uuid

    import psycopg

    admin = infra["LINKFLOW_TEST_POSTGRES_URL"].replace("+psycopg", "")
    name = f"linkflow_deploy_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}", f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
