"""Run rendered Kubernetes objects as local processes: each Deployment's container command with its env.

What is translated, and only this: Secret references become the test values given; the rendered
Services (`linkflow-<role>:8000`) and outside hosts (Kafka's bootstrap, the public URLs) become loopback
addresses; each container port gets a free local port (the env variable that carried the container port
is set to it, and the probes are read through the same map); `0.0.0.0` listeners become `127.0.0.1`;
volume mount paths become folders of the test. Everything else — the command, the args, every other
variable — is used exactly as rendered, so a wrong command, variable name or probe fails here.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    """Below 32768: a port in the ephemeral range can be taken by a client's own outgoing connection."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


@dataclass
class Role:
    name: str
    container: dict
    pod: dict
    ports: dict[str, int] = field(default_factory=dict)  # container port name -> local port
    process: subprocess.Popen | None = None
    log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    restarts: int = 0

    def probe_url(self, probe: str) -> str:
        get = self.container[probe]["httpGet"]
        return f"http://127.0.0.1:{self.ports[get['port']]}{get['path']}"

    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['http']}"


class LocalCluster:
    def __init__(self, rendered: str, *, secrets: dict[str, str], hosts: dict[str, str], workdir: Path,
                 overrides: dict[str, str] | None = None, only: set[str] | None = None) -> None:
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        self.configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
        self.jobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Job"}
        self.secrets, self.workdir, self.overrides = secrets, workdir, overrides or {}
        self.roles: dict[str, Role] = {}
        for doc in docs:
            if doc["kind"] != "Deployment" or (only is not None and doc["metadata"]["name"] not in only):
                continue
            pod = doc["spec"]["template"]["spec"]
            [container] = pod["containers"]
            role = Role(doc["metadata"]["name"], container, pod)
            role.ports = {p["name"]: free_port() for p in container.get("ports", [])}
            self.roles[role.name] = role
        # Services -> the local port of the Deployment they select (same component label)
        self.hosts = dict(hosts)
        for doc in docs:
            if doc["kind"] == "Service" and doc["spec"].get("clusterIP") != "None":
                component = doc["spec"]["selector"]["app.kubernetes.io/component"]
                target = next((r for r in self.roles.values()
                               if r.pod and self._component(r) == component), None)
                if target is not None:
                    for port in doc["spec"]["ports"]:
                        self.hosts[f"{doc['metadata']['name']}:{port['port']}"] = \
                            f"127.0.0.1:{target.ports[port['targetPort']]}"

    def _component(self, role: Role) -> str:
        return role.name.removeprefix("linkflow-")

    # -- environment --------------------------------------------------------------------------------
    def env_of(self, name: str, container: dict, pod: dict, ports: dict[str, int]) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.configmaps[source["configMapRef"]["name"]])
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            else:
                key = item["valueFrom"]["secretKeyRef"]["key"]
                assert key in self.secrets, f"{name}: no test value for Secret key {key!r}"
                env[item["name"]] = self.secrets[key]
        mounts = self._mounts(name, container)
        container_ports = {str(p["containerPort"]): ports[p["name"]] for p in container.get("ports", [])}
        for key, value in env.items():
            for old, new in self.hosts.items():
                value = value.replace(old, new)
            if value == "0.0.0.0":
                value = "127.0.0.1"
            if key.endswith("_PORT") and value in container_ports:
                value = str(container_ports[value])
            for mount, local in mounts.items():
                if value == mount or value.startswith(mount + "/"):
                    value = str(local) + value[len(mount):]
            env[key] = value
        env.update(self.overrides)
        return env

    def _mounts(self, name: str, container: dict) -> dict[str, Path]:
        mounts = {}
        for mount in container.get("volumeMounts", []):
            path = mount["mountPath"]
            if path.startswith("/app/"):  # inside the image's source tree: the checkout is the image here
                mounts[path] = ROOT / path.removeprefix("/app/")
            else:
                mounts[path] = self.workdir / name / mount["name"]
                mounts[path].mkdir(parents=True, exist_ok=True)
        return mounts

    def _process_env(self, env: dict[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items()
                if k in ("HOME", "LANG", "LC_ALL", "NPM_CONFIG_REGISTRY", "TERM") or k.startswith("REFLEX_")}
        base["PATH"] = f"{ROOT / '.tools' / 'bin'}:{BIN}:/usr/local/bin:/usr/bin:/bin"
        return {**base, **env}

    def _command(self, container: dict) -> list[str]:
        command = list(container.get("command", [])) + list(container.get("args", []))
        assert command[0] == "linkflow", command
        return [str(BIN / "linkflow"), *command[1:]]

    # -- running ------------------------------------------------------------------------------------
    def run_job(self, name: str, timeout_s: float = 300) -> subprocess.CompletedProcess:
        [container] = self.jobs[name]["spec"]["template"]["spec"]["containers"]
        env = self.env_of(name, container, {}, {})
        return subprocess.run(self._command(container), env=self._process_env(env), cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout_s)

    def start(self) -> None:
        for role in self.roles.values():
            role.env = self._process_env(self.env_of(role.name, role.container, role.pod, role.ports))
            role.log = self.workdir / f"{role.name}.log"
            self._spawn(role)

    def _spawn(self, role: Role) -> None:
        with open(role.log, "ab") as log:
            role.process = subprocess.Popen(self._command(role.container), env=role.env, cwd=ROOT, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout_s: float = 180, max_restarts: int = 2) -> dict[str, float]:
        """Every role passes its own readinessProbe; returns seconds to ready by role.

        A container that exits is started again, as the kubelet does for a Deployment's pod
        (restartPolicy Always), at most ``max_restarts`` times: the UI role's start-up build can time out on
        a starved machine, and a pod would simply be restarted. ``role.restarts`` says how often it was."""
        started, ready = time.monotonic(), {}
        budget = {r.name: timeout_s + r.container.get("startupProbe", {}).get("failureThreshold", 0) * 5
                  for r in self.roles.values()}
        while len(ready) < len(self.roles):
            for role in self.roles.values():
                if role.name in ready:
                    continue
                if role.process.poll() is not None:
                    if role.restarts >= max_restarts:
                        raise AssertionError(f"{role.name} exited with {role.process.returncode} after "
                                             f"{role.restarts} restarts:\n{self.tail(role)}")
                    role.restarts += 1
                    self._spawn(role)
                    continue
                try:
                    if httpx.get(role.probe_url("readinessProbe"), timeout=3).status_code == 200:
                        ready[role.name] = round(time.monotonic() - started, 1)
                except httpx.HTTPError:
                    pass
                if role.name not in ready and time.monotonic() - started > budget[role.name]:
                    raise AssertionError(f"{role.name} not ready after {budget[role.name]} s "
                                         f"({role.probe_url('readinessProbe')}):\n{self.tail(role)}")
            time.sleep(0.5)
        return ready

    def tail(self, role: Role, lines: int = 30) -> str:
        return "\n".join(role.log.read_text(errors="replace").splitlines()[-lines:]) if role.log else ""

    def stop(self) -> None:
        for role in self.roles.values():
            if role.process is not None and role.process.poll() is None:
                os.killpg(role.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for role in self.roles.values():
            if role.process is None:
                continue
            try:
                role.process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(role.process.pid, signal.SIGKILL)
                role.process.wait(5)
