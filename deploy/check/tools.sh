#!/usr/bin/env bash
# Build the Go tools deploy-check needs, once, into <repo>/.tools/go/bin (caches under .tools/go too).
#
#   deploy/check/tools.sh build    build what is missing (helm, promtool, kubeconform); idempotent
#   deploy/check/tools.sh start    the same in the background (log .tools/go/build.log), returns at once
#   deploy/check/tools.sh wait     wait for a background build, fail if it failed
#
# The tools come from the Go module proxy (no website downloads); a cold build takes ~8 min of CPU,
# a rerun on the same machine finds the binaries and returns at once.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)
GO_DIR="$REPO_ROOT/.tools/go"
export GOPATH="$GO_DIR/path" GOBIN="$GO_DIR/bin" GOCACHE="$GO_DIR/cache" GOMODCACHE="$GO_DIR/mod"
export GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0
LOG="$GO_DIR/build.log"
STATUS="$GO_DIR/build.status"

# name  module@version   (pinned: the CI result must not change under us)
TOOLS=(
  "kubeconform github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0"
  "helm helm.sh/helm/v4/cmd/helm@v4.3.2"
  "promtool github.com/prometheus/prometheus/cmd/promtool@v0.316.0"
)

say() { printf '[tools] %s\n' "$*"; }

build() {
  command -v go >/dev/null || { say "ERROR: go is not installed (Go 1.26 builds these tools)" >&2; exit 1; }
  mkdir -p "$GOBIN"
  local entry name module t0
  for entry in "${TOOLS[@]}"; do
    read -r name module <<<"$entry"
    if [[ -x $GOBIN/$name && -f $GOBIN/.$name.version && $(cat "$GOBIN/.$name.version") == "$module" ]]; then
      continue
    fi
    t0=$(date +%s)
    say "building $module"
    go install "$module"
    echo "$module" >"$GOBIN/.$name.version"
    say "$name built in $(($(date +%s) - t0)) s"
  done
}

case ${1:-} in
  build) build ;;
  start)
    mkdir -p "$GO_DIR"
    rm -f "$STATUS"
    ( if build >"$LOG" 2>&1; then echo ok >"$STATUS"; else echo failed >"$STATUS"; fi ) </dev/null &
    say "building in the background (pid $!, log $LOG)"
    ;;
  wait)
    [[ -f $LOG || -f $STATUS ]] || build
    while [[ ! -f $STATUS ]]; do sleep 2; done
    if [[ $(cat "$STATUS") != ok ]]; then tail -n 40 "$LOG" >&2; say "ERROR: the Go tools did not build" >&2; exit 1; fi
    ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
