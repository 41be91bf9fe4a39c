#!/usr/bin/env bash
# LinkFlow project-local infrastructure for tests and local runs.
#
#   deploy/local/infra.sh up     [SERVICE...]           start services (default: postgres redis)
#   deploy/local/infra.sh down   [--purge] [SERVICE...] stop services (default: all, incl. kafka)
#   deploy/local/infra.sh status [SERVICE...]           one line per service; exit 0 iff all requested run
#   deploy/local/infra.sh env    [SERVICE...]           print `export ...` lines for tests
#
# SERVICE is one of: postgres, redis, kafka, stripe, s3, elasticsearch, mariadb, ssh, imap, rabbitmq.  For `up`
# and `status`,
# postgres and redis are always included unless one of them is named explicitly, or only stripe,
# s3, elasticsearch, mariadb, ssh, imap and/or rabbitmq are named: `up kafka` starts postgres + redis + kafka, `up redis` only
# redis, `up stripe` only stripe-mock, `up s3` only the S3 server, `up elasticsearch` only
# Elasticsearch, `up mariadb` only MariaDB, `up ssh` only sshd, `up imap` only Dovecot, `up rabbitmq` only RabbitMQ (next to servers that already run elsewhere).
# `down` with no names stops everything; `down --purge` also deletes the data.
#
# Everything listens on 127.0.0.1 only and keeps its data under <repo>/.infra/
# (postgres may live under /var/tmp/linkflow-infra-<hash>/ with a symlink in
# .infra/ when the postgres OS user cannot reach the checkout).
#
# Ports (override with the environment variables):
#   postgres  55432  LINKFLOW_INFRA_PG_PORT
#   redis     56379  LINKFLOW_INFRA_REDIS_PORT
#   kafka     59092  LINKFLOW_INFRA_KAFKA_PORT  (KRaft controller: 59093, LINKFLOW_INFRA_KAFKA_CONTROLLER_PORT)
#   stripe    12111  LINKFLOW_INFRA_STRIPE_PORT (stripe-mock, Stripe's API mock; its HTTPS: 12112,
#                    LINKFLOW_INFRA_STRIPE_HTTPS_PORT). Built once with `go install` into <repo>/.tools/go.
#   s3        19000  LINKFLOW_INFRA_S3_PORT     (moto's S3-compatible server, in-memory; installed once
#                    with pip into its own venv <repo>/.tools/s3-venv)
#   elasticsearch 19200  LINKFLOW_INFRA_ES_PORT (Elasticsearch 8.19 from the Maven Central jars, heap
#                    512 MB; transport: 19300, LINKFLOW_INFRA_ES_TRANSPORT_PORT). Jars and the compiled
#                    launcher cached in <repo>/.tools/elasticsearch-8.19.0.
#   mariadb   13306  LINKFLOW_INFRA_MARIADB_PORT (Debian's mariadb-server; user linkflow/linkflow, database
#                    linkflow_test; the MySQL node's integration tests)
#   ssh       12222  LINKFLOW_INFRA_SSH_PORT (Debian's openssh-server, a private sshd; as root a private user
#                    linkflow/linkflow by key or password, else the current user by key; the SSH node's tests)
#   imap      11143  LINKFLOW_INFRA_IMAP_PORT (Debian's dovecot-imapd as a plain process with a private config;
#                    users linkflow/linkflow and other/other, IMAP with IDLE and STARTTLS; IMAPS: 11993,
#                    LINKFLOW_INFRA_IMAPS_PORT; a self-signed certificate for localhost; the IMAP trigger's tests)
#   rabbitmq  15673  LINKFLOW_INFRA_RABBITMQ_PORT (Debian's rabbitmq-server, AMQP 0-9-1; user linkflow/linkflow,
#                    vhost /; its epmd: 14369, LINKFLOW_INFRA_RABBITMQ_EPMD_PORT; Erlang distribution: 25673,
#                    LINKFLOW_INFRA_RABBITMQ_DIST_PORT)
# Other knobs:
#   LINKFLOW_INFRA_KAFKA_VERSION  Kafka version(s) to try, space separated (default "4.1.0 4.4.0")
#   LINKFLOW_INFRA_MVN_TIMEOUT    seconds allowed per Maven download attempt (default 300)
#
# Missing packages (postgresql, redis-server, and for kafka a JRE and maven) are
# installed with apt-get (via sudo when not root); elasticsearch needs a JDK (javac) too.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
REPO_ROOT=$(cd "$(dirname "$SCRIPT_PATH")/../.." && pwd -P)
INFRA_DIR="$REPO_ROOT/.infra"
REPO_HASH=$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)
ALT_BASE="/var/tmp/linkflow-infra-$REPO_HASH"

# reachable_by_others DIR: every existing directory on the way to DIR lets any user search it (o+x).
reachable_by_others() {
  local dir=$1 perm
  while [[ -n $dir && $dir != / ]]; do
    if [[ -d $dir ]]; then
      perm=$(stat -c %a "$dir")
      ((${perm: -1} & 1)) || return 1
    fi
    dir=$(dirname "$dir")
  done
}

# private_user_dir NAME: where a service whose processes run as another OS user (sshd's private user,
# Dovecot's mail user) keeps its files: .infra/NAME, or, as root when the checkout is under a directory only
# its owner may enter (e.g. one made by `mktemp -d`), ALT_BASE/NAME, which that user can reach.
private_user_dir() {
  if [[ $IS_ROOT -eq 1 ]] && ! reachable_by_others "$INFRA_DIR"; then
    echo "$ALT_BASE/$1"
  else
    echo "$INFRA_DIR/$1"
  fi
}

# make_service_dir DIR: mkdir -p DIR, first making ALT_BASE (mode 755, ours) when DIR is in it.
make_service_dir() {
  if [[ $1 == "$ALT_BASE"/* ]]; then
    mkdir -p "$ALT_BASE"
    [[ -O $ALT_BASE ]] || die "$ALT_BASE exists but is not owned by $(id -un)"
    chmod 755 "$ALT_BASE"
  fi
  mkdir -p "$1"
}

PG_PORT=${LINKFLOW_INFRA_PG_PORT:-55432}
REDIS_PORT=${LINKFLOW_INFRA_REDIS_PORT:-56379}
KAFKA_PORT=${LINKFLOW_INFRA_KAFKA_PORT:-59092}
KAFKA_CONTROLLER_PORT=${LINKFLOW_INFRA_KAFKA_CONTROLLER_PORT:-59093}
KAFKA_VERSIONS=${LINKFLOW_INFRA_KAFKA_VERSION:-4.1.0 4.4.0}
MVN_TIMEOUT=${LINKFLOW_INFRA_MVN_TIMEOUT:-300}
STRIPE_PORT=${LINKFLOW_INFRA_STRIPE_PORT:-12111}
STRIPE_HTTPS_PORT=${LINKFLOW_INFRA_STRIPE_HTTPS_PORT:-12112}
S3_PORT=${LINKFLOW_INFRA_S3_PORT:-19000}
MARIADB_PORT=${LINKFLOW_INFRA_MARIADB_PORT:-13306}
IMAP_PORT=${LINKFLOW_INFRA_IMAP_PORT:-11143}
IMAPS_PORT=${LINKFLOW_INFRA_IMAPS_PORT:-11993}
RABBITMQ_PORT=${LINKFLOW_INFRA_RABBITMQ_PORT:-15673}
RABBITMQ_EPMD_PORT=${LINKFLOW_INFRA_RABBITMQ_EPMD_PORT:-14369}
RABBITMQ_DIST_PORT=${LINKFLOW_INFRA_RABBITMQ_DIST_PORT:-25673}
ES_PORT=${LINKFLOW_INFRA_ES_PORT:-19200}
ES_TRANSPORT_PORT=${LINKFLOW_INFRA_ES_TRANSPORT_PORT:-19300}
SSH_PORT=${LINKFLOW_INFRA_SSH_PORT:-12222}

for _v in PG_PORT REDIS_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT MVN_TIMEOUT STRIPE_PORT STRIPE_HTTPS_PORT S3_PORT ES_PORT ES_TRANSPORT_PORT MARIADB_PORT SSH_PORT IMAP_PORT IMAPS_PORT \
  RABBITMQ_PORT RABBITMQ_EPMD_PORT RABBITMQ_DIST_PORT; do
  [[ ${!_v} =~ ^[0-9]+$ ]] || {
    printf '[infra] ERROR: %s must be a number, got "%s"\n' "$_v" "${!_v}" >&2
    exit 1
  }
done
unset _v

PG_WAIT=30
REDIS_WAIT=30
KAFKA_WAIT=90

IS_ROOT=0
[[ $(id -u) -eq 0 ]] && IS_ROOT=1

# ----------------------------------------------------------------- helpers --

say() { printf '[infra] %s\n' "$*"; }
warn() { printf '[infra] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[infra] ERROR: %s\n' "$*" >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/p' "$SCRIPT_PATH" | sed '$d' | sed 's/^# \{0,1\}//'; }

now_ms() { date +%s%3N; }
elapsed() { # elapsed START_MS -> "1.234s"
  local d=$(($(now_ms) - $1))
  printf '%d.%03ds' $((d / 1000)) $((d % 1000))
}

# show_log_tail FILE [LINES]: print the end of a service log to stderr.
show_log_tail() {
  local f=$1 n=${2:-40}
  if [[ -f $f ]]; then
    printf '[infra] ---- last %s lines of %s ----\n' "$n" "$f" >&2
    tail -n "$n" "$f" >&2 || true
    printf '[infra] ---- end of %s ----\n' "$f" >&2
  else
    printf '[infra] (no log file at %s)\n' "$f" >&2
  fi
}

# port_open PORT: true if something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# pid_alive PID: process exists and is not a zombie (an un-reaped zombie keeps
# its /proc entry when the container's init does not reap orphans).
pid_alive() {
  [[ -n ${1:-} && $1 =~ ^[0-9]+$ && -d /proc/$1 ]] || return 1
  local state
  state=$(sed -n 's/^State:[[:space:]]*\([A-Za-z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)
  [[ -n $state && $state != Z && $state != X ]]
}

pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true; }

# wait_pid_exit PID SECONDS: wait for a process to go away.
wait_pid_exit() {
  local pid=$1 i
  for ((i = 0; i < $2 * 5; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.2
  done
  ! pid_alive "$pid"
}

# stop_pid NAME PID GRACE: SIGTERM, wait GRACE seconds, then SIGKILL.
stop_pid() {
  local name=$1 pid=$2 grace=$3
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_pid_exit "$pid" "$grace"; then
    warn "$name (pid $pid) did not stop within ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 10 || die "$name (pid $pid) could not be stopped"
  fi
}

# -------------------------------------------------------------- packages --

APT_UPDATED=0
apt_install() {
  local sudo=()
  if [[ $IS_ROOT -ne 1 ]]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages ($*) and not root; install them: apt-get install $*"
    sudo=(sudo)
  fi
  if [[ $APT_UPDATED -eq 0 ]]; then
    say "apt-get update (needed to install: $*)"
    "${sudo[@]}" apt-get update -q || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing: $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" ||
    die "apt-get install $* failed"
}

have_initdb() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

ensure_packages() {
  local pkgs=()
  if want postgres; then
    have_initdb || pkgs+=(postgresql)
  fi
  if want redis; then
    command -v redis-server >/dev/null 2>&1 || pkgs+=(redis-server)
  fi
  if want kafka || want elasticsearch; then
    command -v java >/dev/null 2>&1 || pkgs+=(default-jre-headless)
    command -v mvn >/dev/null 2>&1 || pkgs+=(maven)
  fi
  if want elasticsearch; then
    command -v javac >/dev/null 2>&1 || pkgs+=(default-jdk-headless)
  fi
  if want mariadb; then
    command -v mariadbd >/dev/null 2>&1 || pkgs+=(mariadb-server)
  fi
  if want ssh; then
    [[ -x /usr/sbin/sshd ]] || pkgs+=(openssh-server)
  fi
  if want imap; then
    dovecot_installed || pkgs+=(dovecot-imapd)
  fi
  if want rabbitmq; then
    [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || pkgs+=(rabbitmq-server)
  fi
  if want stripe && [[ ! -x $STRIPE_BIN ]] && ! go_cmd >/dev/null; then
    pkgs+=(golang-go)
  fi
  if ((${#pkgs[@]})); then
    apt_install "${pkgs[@]}"
  fi
  if want redis && ! command -v redis-cli >/dev/null 2>&1; then
    apt_install redis-tools
  fi
}

# --------------------------------------------------------------- postgres --
#
# The cluster is a throw-away test/dev database.  When run as root it runs as
# the `postgres` OS user (postgres refuses to run as root); when run as a normal
# user it runs as that user.  The bootstrap superuser is always called
# `postgres`; the application role is `linkflow`.

PG_LINK="$INFRA_DIR/postgres"

as_pg() {
  if [[ $IS_ROOT -eq 1 ]]; then
    # cd / : the caller's cwd may not be readable by the postgres user.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_can_reach() { # DIR: can the postgres user get to DIR (search permission all the way)?
  [[ $IS_ROOT -eq 1 ]] || return 0
  as_pg test -x "$1" 2>/dev/null
}

# pg_locate: set PG_DIR (real directory, no symlinks) without creating anything.
pg_locate() {
  if [[ -L $PG_LINK ]]; then
    PG_DIR=$(readlink "$PG_LINK")
  else
    PG_DIR=$PG_LINK
  fi
  PG_DATA="$PG_DIR/data"
  PG_LOGDIR="$PG_DIR/log"
  PG_LOG="$PG_LOGDIR/postgres.log"
  PG_SOCK_DIR="$PG_DIR/run"
  # Unix socket paths are limited to ~107 bytes.
  if ((${#PG_SOCK_DIR} > 80)); then
    PG_SOCK_DIR="$ALT_BASE/pg-run"
  fi
}
pg_locate # PG_DATA for pg_pid; pg_up and pg_down locate again

# pg_prepare_dirs: create PG_DIR, choosing /var/tmp when the checkout is not
# reachable by the postgres OS user (e.g. a clone in a mode-700 mktemp dir).
pg_prepare_dirs() {
  mkdir -p "$INFRA_DIR"
  if [[ $IS_ROOT -eq 1 ]]; then
    chmod 755 "$INFRA_DIR"
    id -u postgres >/dev/null 2>&1 || die "OS user 'postgres' does not exist (it comes with the postgresql package)"
  fi
  if [[ -L $PG_LINK ]]; then
    :
  elif [[ -d $PG_LINK ]]; then
    pg_can_reach "$PG_LINK" ||
      die "$PG_LINK is not accessible by the postgres user; remove it with '$0 down --purge postgres'"
  elif pg_can_reach "$INFRA_DIR"; then
    mkdir -p "$PG_LINK"
  else
    say "postgres: the postgres user cannot reach $INFRA_DIR; using $ALT_BASE/postgres (symlinked)"
    make_service_dir "$ALT_BASE/postgres"
    ln -sfn "$ALT_BASE/postgres" "$PG_LINK"
  fi
  pg_locate
  mkdir -p "$PG_DIR" "$PG_LOGDIR" "$PG_SOCK_DIR"
  if [[ $IS_ROOT -eq 1 ]]; then
    chown postgres:postgres "$PG_DIR" "$PG_LOGDIR" "$PG_SOCK_DIR"
    as_pg test -x "$PG_DIR" -a -w "$PG_DIR" 2>/dev/null || die "postgres user still cannot write to $PG_DIR"
  fi
  chmod 750 "$PG_DIR"
  chmod 755 "$PG_SOCK_DIR"
}

# pg_find_bin: PG_BIN = bin dir matching an existing cluster, else the newest.
pg_find_bin() {
  local ver=""
  if [[ -f $PG_DATA/PG_VERSION ]]; then
    ver=$(cat "$PG_DATA/PG_VERSION")
    [[ -x /usr/lib/postgresql/$ver/bin/postgres ]] ||
      die "cluster in $PG_DATA is PostgreSQL $ver but /usr/lib/postgresql/$ver is not installed; install postgresql-$ver or run '$0 down --purge postgres'"
  else
    ver=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
      awk -F/ '{print $5}' | sort -V | tail -n1)
    [[ -n $ver ]] || die "no PostgreSQL found under /usr/lib/postgresql"
  fi
  PG_VERSION=$ver
  PG_BIN="/usr/lib/postgresql/$ver/bin"
}

# pg_pid: print the postmaster pid if the cluster is running.
pg_pid() {
  local f="$PG_DATA/postmaster.pid" pid
  [[ -r $f ]] || return 1
  pid=$(head -n1 "$f" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres* ]] || return 1
  echo "$pid"
}

pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }
pg_running_sock() { sed -n 5p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }
pg_status_info() { printf '  data=%s' "$PG_DATA"; }
pg_env() { echo "export LINKFLOW_TEST_POSTGRES_URL=postgresql+psycopg://linkflow:linkflow@127.0.0.1:$PG_PORT/linkflow_test"; }

pg_write_config() {
  local conf="$PG_DATA/linkflow-infra.conf"
  cat >"$conf" <<EOF
# Generated by deploy/local/infra.sh on every 'up'; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK_DIR'
max_connections = 200
# This is a throw-away test/dev cluster, so durability is traded for speed:
# with fsync/full_page_writes off an OS crash or power loss can corrupt it and
# synchronous_commit=off may lose the last commits.  Never use in production.
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
  if ! grep -q "^include_if_exists = 'linkflow-infra.conf'" "$PG_DATA/postgresql.conf"; then
    printf "\n# LinkFlow local infra settings (deploy/local/infra.sh)\ninclude_if_exists = 'linkflow-infra.conf'\n" \
      >>"$PG_DATA/postgresql.conf"
  fi
  # Trust, but only on the unix socket (inside .infra) and 127.0.0.1.
  cat >"$PG_DATA/pg_hba.conf" <<EOF
# Generated by deploy/local/infra.sh: local test/dev cluster, trust auth.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  if [[ $IS_ROOT -eq 1 ]]; then
    chown postgres:postgres "$conf" "$PG_DATA/postgresql.conf" "$PG_DATA/pg_hba.conf"
  fi
  chmod 600 "$conf" "$PG_DATA/pg_hba.conf"
}

pg_sql() { # SQL -> psql output (as the bootstrap superuser over the socket)
  as_pg "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$(pg_running_sock)" -p "$(pg_running_port)" \
    -U postgres -d postgres -c "$1"
}

pg_ensure_role_and_dbs() {
  pg_sql "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'linkflow') THEN
        CREATE ROLE linkflow LOGIN SUPERUSER PASSWORD 'linkflow';
      ELSE
        ALTER ROLE linkflow LOGIN SUPERUSER PASSWORD 'linkflow';
      END IF;
    END \$\$;" >/dev/null || die "postgres: could not create role linkflow"
  local db
  for db in linkflow linkflow_test; do
    if [[ -z $(pg_sql "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
      pg_sql "CREATE DATABASE $db OWNER linkflow" >/dev/null || die "postgres: could not create database $db"
      say "postgres: created database $db"
    fi
  done
}

pg_up() {
  local t0 pid
  t0=$(now_ms)
  pg_locate
  if pid=$(pg_pid); then
    local port
    port=$(pg_running_port)
    say "postgres: already running (pid $pid, 127.0.0.1:$port)"
    [[ $port == "$PG_PORT" ]] || warn "postgres runs on port $port, not the requested $PG_PORT; run 'down postgres' first to change it"
    pg_find_bin
    pg_ensure_role_and_dbs
    return 0
  fi
  pg_prepare_dirs
  pg_find_bin
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    if [[ -e $PG_DATA ]]; then
      warn "postgres: removing incomplete data directory $PG_DATA"
      rm -rf "$PG_DATA"
    fi
    say "postgres: initdb (PostgreSQL $PG_VERSION) in $PG_DATA"
    if ! as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C >"$PG_LOGDIR/initdb.log" 2>&1; then
      show_log_tail "$PG_LOGDIR/initdb.log"
      die "postgres: initdb failed"
    fi
  fi
  pg_write_config
  if port_open "$PG_PORT"; then
    die "postgres: port 127.0.0.1:$PG_PORT is already in use by another process (set LINKFLOW_INFRA_PG_PORT)"
  fi
  # 9>&- : the daemons must not inherit (and so hold) the lock on .infra/.lock
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$PG_WAIT" start >/dev/null 2>&1 9>&-; then
    show_log_tail "$PG_LOG"
    die "postgres: failed to start (log: $PG_LOG)"
  fi
  local i ok=0
  for ((i = 0; i < PG_WAIT * 5; i++)); do
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$PG_LOG"
    die "postgres: not ready on 127.0.0.1:$PG_PORT after ${PG_WAIT}s (log: $PG_LOG)"
  fi
  pg_ensure_role_and_dbs
  say "postgres: started (pid $(pg_pid), 127.0.0.1:$PG_PORT, PostgreSQL $PG_VERSION) in $(elapsed "$t0")"
}

pg_down() {
  pg_locate
  local pid
  if ! pid=$(pg_pid); then
    say "postgres: not running"
    return 0
  fi
  pg_find_bin
  if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
    show_log_tail "$PG_LOG"
    die "postgres: pg_ctl stop failed"
  fi
  say "postgres: stopped (was pid $pid)"
}

pg_purge() {
  if [[ -L $PG_LINK ]]; then
    local target
    target=$(readlink "$PG_LINK")
    rm -rf -- "$target"
    rm -f -- "$PG_LINK"
    rm -rf -- "$ALT_BASE/pg-run"
    rmdir -- "$ALT_BASE" 2>/dev/null || true
  else
    rm -rf -- "$PG_LINK"
    rm -rf -- "$ALT_BASE/pg-run"
    rmdir -- "$ALT_BASE" 2>/dev/null || true
  fi
  say "postgres: data purged"
}

# ------------------------------------------------------------------ redis --

REDIS_DIR="$INFRA_DIR/redis"
REDIS_CONF="$REDIS_DIR/redis.conf"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

redis_pid() {
  local pid
  [[ -r $REDIS_PIDFILE ]] || return 1
  pid=$(head -n1 "$REDIS_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server* ]] || return 1
  echo "$pid"
}

redis_running_port() {
  local pid=$1 p
  p=$(pid_cmdline "$pid" | grep -o '127\.0\.0\.1:[0-9]*' | head -n1 | cut -d: -f2 || true)
  echo "${p:-$REDIS_PORT}"
}

redis_env() { echo "export LINKFLOW_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"; }

redis_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(redis_pid); then
    local port
    port=$(redis_running_port "$pid")
    say "redis: already running (pid $pid, 127.0.0.1:$port)"
    [[ $port == "$REDIS_PORT" ]] || warn "redis runs on port $port, not the requested $REDIS_PORT; run 'down redis' first to change it"
    return 0
  fi
  mkdir -p "$REDIS_DIR"
  rm -f "$REDIS_PIDFILE"
  cat >"$REDIS_CONF" <<EOF
# Generated by deploy/local/infra.sh on every 'up'; edits are overwritten.
# Local test/dev instance: loopback only, no persistence.
bind 127.0.0.1
protected-mode yes
port $REDIS_PORT
daemonize yes
supervised no
pidfile "$REDIS_PIDFILE"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
loglevel notice
save ""
appendonly no
databases 16
EOF
  if port_open "$REDIS_PORT"; then
    die "redis: port 127.0.0.1:$REDIS_PORT is already in use by another process (set LINKFLOW_INFRA_REDIS_PORT)"
  fi
  if ! redis-server "$REDIS_CONF" >>"$REDIS_LOG" 2>&1 9>&-; then
    show_log_tail "$REDIS_LOG"
    die "redis: redis-server failed to start (log: $REDIS_LOG)"
  fi
  local i ok=0
  for ((i = 0; i < REDIS_WAIT * 5; i++)); do
    if [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$REDIS_LOG"
    die "redis: no PONG on 127.0.0.1:$REDIS_PORT after ${REDIS_WAIT}s (log: $REDIS_LOG)"
  fi
  # the pid file is written right after daemonizing; give it a moment
  for ((i = 0; i < 25; i++)); do
    pid=$(redis_pid) && break
    sleep 0.2
  done
  say "redis: started (pid ${pid:-?}, 127.0.0.1:$REDIS_PORT) in $(elapsed "$t0")"
}

# ------------------------------------------------------------------ kafka --
#
# Apache Kafka (KRaft, single combined broker+controller node) run straight
# from the Maven Central jars: a tiny pom.xml in .infra/kafka lists
# kafka_2.13 plus an SLF4J backend, and `mvn dependency:copy-dependencies`
# copies the runtime class path into .infra/kafka/lib.

KAFKA_DIR="$INFRA_DIR/kafka"
KAFKA_LIB="$KAFKA_DIR/lib"
KAFKA_DATA="$KAFKA_DIR/data"
KAFKA_PROPS="$KAFKA_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_DIR/kafka.pid"
KAFKA_LOG="$KAFKA_DIR/kafka.log"
KAFKA_MVN_LOG="$KAFKA_DIR/mvn.log"
SLF4J_VERSION=2.0.17
DEP_PLUGIN_VERSION=3.8.1

kafka_pid() {
  local pid
  [[ -r $KAFKA_PIDFILE ]] || return 1
  pid=$(head -n1 "$KAFKA_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  local cmd
  cmd=$(pid_cmdline "$pid")
  [[ $cmd == *kafka.Kafka* && $cmd == *"$KAFKA_PROPS"* ]] || return 1
  echo "$pid"
}

kafka_status_info() {
  if [[ $1 == running ]]; then printf '  version=%s' "$(cat "$KAFKA_LIB/.complete" 2>/dev/null || echo '?')"; fi
}
kafka_env() { echo "export LINKFLOW_TEST_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT"; }

kafka_write_pom() { # VERSION
  cat >"$KAFKA_DIR/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/infra.sh: the class path of the local Kafka broker. -->
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.linkflow.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$1</version>
    </dependency>
    <!-- declared directly so that it wins over the older slf4j-api Kafka pulls in -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>$DEP_PLUGIN_VERSION</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
}

# kafka_fetch: make sure $KAFKA_LIB holds a complete Kafka class path.
kafka_fetch() {
  if [[ -f $KAFKA_LIB/.complete ]]; then
    KAFKA_VERSION=$(cat "$KAFKA_LIB/.complete")
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "kafka: mvn not found"
  local v rc tried=()
  : >"$KAFKA_MVN_LOG"
  for v in $KAFKA_VERSIONS; do
    tried+=("$v")
    say "kafka: fetching org.apache.kafka:kafka_2.13:$v and its runtime dependencies with Maven (timeout ${MVN_TIMEOUT}s)"
    kafka_write_pom "$v"
    rm -rf "$KAFKA_LIB.tmp"
    echo "### kafka $v" >>"$KAFKA_MVN_LOG"
    # fully qualified goal: no plugin-prefix lookup needed
    if timeout "$MVN_TIMEOUT" mvn -B -q -ntp -Dstyle.color=never -f "$KAFKA_DIR/pom.xml" \
      "org.apache.maven.plugins:maven-dependency-plugin:$DEP_PLUGIN_VERSION:copy-dependencies" \
      -DoutputDirectory="$KAFKA_LIB.tmp" -DincludeScope=runtime \
      </dev/null >>"$KAFKA_MVN_LOG" 2>&1; then
      rc=0
    else
      rc=$?
    fi
    if [[ $rc -eq 0 ]] && compgen -G "$KAFKA_LIB.tmp/kafka_2.13-$v.jar" >/dev/null; then
      rm -rf "$KAFKA_LIB"
      mv "$KAFKA_LIB.tmp" "$KAFKA_LIB"
      echo "$v" >"$KAFKA_LIB/.complete"
      KAFKA_VERSION=$v
      return 0
    fi
    if [[ $rc -eq 124 ]]; then
      echo "### mvn timed out after ${MVN_TIMEOUT}s" >>"$KAFKA_MVN_LOG"
      warn "kafka: Maven timed out after ${MVN_TIMEOUT}s fetching Kafka $v (LINKFLOW_INFRA_MVN_TIMEOUT)"
    else
      warn "kafka: Maven could not deliver Kafka $v (exit $rc, see $KAFKA_MVN_LOG)"
    fi
  done
  rm -rf "$KAFKA_LIB.tmp"
  show_log_tail "$KAFKA_MVN_LOG" 30
  die "kafka: could not download Apache Kafka from Maven Central (tried ${tried[*]}); see $KAFKA_MVN_LOG. Set LINKFLOW_INFRA_KAFKA_VERSION to another 4.x version to retry."
}

# kafka_storage_tool: the StorageTool main class of the fetched version.
kafka_storage_tool() {
  local jar
  jar=$(compgen -G "$KAFKA_LIB/kafka_2.13-*.jar" | head -n1)
  # the zip central directory stores names uncompressed, so grep finds them
  if grep -aqE '(^|[^/])kafka/tools/StorageTool\.class' "$jar"; then
    echo kafka.tools.StorageTool
  elif grep -aqF 'org/apache/kafka/tools/StorageTool.class' "$KAFKA_LIB"/*.jar; then
    echo org.apache.kafka.tools.StorageTool
  else
    die "kafka: no StorageTool class found in $KAFKA_LIB"
  fi
}

kafka_java_check() {
  local spec
  spec=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
  spec=${spec%%.*}
  [[ -n $spec && $spec -ge 17 ]] || die "kafka: Kafka 4.x needs Java 17 or newer, found '${spec:-unknown}' ($(command -v java))"
}

kafka_write_props() {
  cat >"$KAFKA_PROPS" <<EOF
# Generated by deploy/local/infra.sh on every 'up'; edits are overwritten.
# Single-node KRaft: one process is both broker and controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
num.network.threads=2
num.io.threads=4
EOF
}

kafka_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(kafka_pid); then
    say "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
    return 0
  fi
  command -v java >/dev/null 2>&1 || die "kafka: java not found"
  kafka_java_check
  mkdir -p "$KAFKA_DIR" "$KAFKA_DATA"
  rm -f "$KAFKA_PIDFILE"
  local tf
  tf=$(now_ms)
  kafka_fetch
  local fetch_time
  fetch_time=$(elapsed "$tf")
  kafka_write_props
  local tool
  tool=$(kafka_storage_tool)
  if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
    local cid
    cid=$(java -cp "$KAFKA_LIB/*" "$tool" random-uuid 2>>"$KAFKA_LOG" | tail -n1) ||
      {
        show_log_tail "$KAFKA_LOG"
        die "kafka: could not generate a cluster id"
      }
    say "kafka: formatting storage in $KAFKA_DATA (cluster id $cid)"
    if ! java -cp "$KAFKA_LIB/*" "$tool" format -t "$cid" -c "$KAFKA_PROPS" --ignore-formatted >>"$KAFKA_LOG" 2>&1; then
      show_log_tail "$KAFKA_LOG"
      die "kafka: storage format failed"
    fi
  fi
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "kafka: port 127.0.0.1:$p is already in use by another process (set LINKFLOW_INFRA_KAFKA_PORT / LINKFLOW_INFRA_KAFKA_CONTROLLER_PORT)"
    fi
  done
  echo "### $(date -Is) starting Kafka $KAFKA_VERSION" >>"$KAFKA_LOG"
  # setsid: own session, so the broker outlives the calling shell's job group.
  # The inner shell writes its own pid and then execs java (same pid).
  (
    cd "$KAFKA_DIR"
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PIDFILE" \
      java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dorg.slf4j.simpleLogger.showDateTime=true \
      "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS" \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
      -Dkafka.logs.dir="$KAFKA_DIR" \
      -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_PROPS" \
      </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < KAFKA_WAIT * 5; i++)); do
    pid=$(head -n1 "$KAFKA_PIDFILE" 2>/dev/null || true)
    if ((i > 10)) && ! pid_alive "$pid"; then
      show_log_tail "$KAFKA_LOG"
      die "kafka: the broker exited during startup (log: $KAFKA_LOG)"
    fi
    if port_open "$KAFKA_PORT"; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$KAFKA_LOG"
    pid_alive "$pid" && stop_pid kafka "$pid" 30
    die "kafka: port 127.0.0.1:$KAFKA_PORT not accepting connections after ${KAFKA_WAIT}s (log: $KAFKA_LOG)"
  fi
  say "kafka: started (pid $pid, Kafka $KAFKA_VERSION, 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT) in $(elapsed "$t0") (class path ready in $fetch_time)"
}

# ----------------------------------------------------------------- stripe --
#
# stripe-mock (Stripe's own API mock, a Go program): answers every Stripe API call with
# fixtures, keeps no state. Built once with `go install` from the Go module proxy into
# <repo>/.tools/go (GOPATH, module and build caches there too, outside git) and reused.

STRIPE_MOCK_VERSION=v0.203.0
GO_DIR="$REPO_ROOT/.tools/go"
STRIPE_BIN="$GO_DIR/bin/stripe-mock"
STRIPE_DIR="$INFRA_DIR/stripe"
STRIPE_PIDFILE="$STRIPE_DIR/stripe-mock.pid"
STRIPE_LOG="$STRIPE_DIR/stripe-mock.log"
STRIPE_WAIT=30

go_cmd() {
  local g
  for g in "$(command -v go 2>/dev/null || true)" /usr/local/go/bin/go /usr/lib/go/bin/go; do
    [[ -n $g && -x $g ]] && {
      echo "$g"
      return 0
    }
  done
  return 1
}

stripe_build() {
  if [[ -x $STRIPE_BIN && $(cat "$GO_DIR/.stripe-mock-version" 2>/dev/null) == "$STRIPE_MOCK_VERSION" ]]; then
    return 0
  fi
  local go t0
  go=$(go_cmd) || die "stripe: Go is needed to build stripe-mock (apt-get install golang-go)"
  t0=$(now_ms)
  say "stripe: building github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION into $GO_DIR/bin (once)"
  mkdir -p "$GO_DIR" "$STRIPE_DIR"
  if ! env GOPATH="$GO_DIR" GOBIN="$GO_DIR/bin" GOCACHE="$GO_DIR/cache" GOMODCACHE="$GO_DIR/mod" \
    GOFLAGS=-modcacherw "$go" install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" \
    >"$STRIPE_DIR/build.log" 2>&1 </dev/null; then
    show_log_tail "$STRIPE_DIR/build.log"
    die "stripe: go install github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION failed with $("$go" version) (it needs Go 1.22 or newer on PATH or in /usr/local/go; log: $STRIPE_DIR/build.log)"
  fi
  echo "$STRIPE_MOCK_VERSION" >"$GO_DIR/.stripe-mock-version"
  say "stripe: stripe-mock built in $(elapsed "$t0")"
}

stripe_pid() {
  local pid
  [[ -r $STRIPE_PIDFILE ]] || return 1
  pid=$(head -n1 "$STRIPE_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *stripe-mock* ]] || return 1
  echo "$pid"
}

stripe_env() { echo "export LINKFLOW_TEST_STRIPE_URL=http://127.0.0.1:$STRIPE_PORT"; }

stripe_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(stripe_pid); then
    say "stripe: already running (pid $pid, 127.0.0.1:$STRIPE_PORT)"
    return 0
  fi
  mkdir -p "$STRIPE_DIR"
  rm -f "$STRIPE_PIDFILE"
  stripe_build
  local p
  for p in "$STRIPE_PORT" "$STRIPE_HTTPS_PORT"; do
    if port_open "$p"; then
      die "stripe: port 127.0.0.1:$p is already in use by another process (set LINKFLOW_INFRA_STRIPE_PORT / LINKFLOW_INFRA_STRIPE_HTTPS_PORT)"
    fi
  done
  echo "### $(date -Is) starting stripe-mock $STRIPE_MOCK_VERSION" >>"$STRIPE_LOG"
  # Both listeners on loopback: without -https-addr stripe-mock also serves HTTPS on every interface.
  (
    cd "$STRIPE_DIR"
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$STRIPE_PIDFILE" \
      "$STRIPE_BIN" -http-addr "127.0.0.1:$STRIPE_PORT" -https-addr "127.0.0.1:$STRIPE_HTTPS_PORT" \
      </dev/null >>"$STRIPE_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < STRIPE_WAIT * 5; i++)); do
    pid=$(head -n1 "$STRIPE_PIDFILE" 2>/dev/null || true)
    if ((i > 5)) && ! pid_alive "$pid"; then
      show_log_tail "$STRIPE_LOG"
      die "stripe: stripe-mock exited during startup (log: $STRIPE_LOG)"
    fi
    if grep -q "Listening for HTTP at address: 127.0.0.1:$STRIPE_PORT" "$STRIPE_LOG" 2>/dev/null &&
      port_open "$STRIPE_PORT"; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$STRIPE_LOG"
    pid_alive "$pid" && stop_pid stripe "$pid" 10
    die "stripe: 127.0.0.1:$STRIPE_PORT not accepting connections after ${STRIPE_WAIT}s (log: $STRIPE_LOG)"
  fi
  say "stripe: started (pid $pid, stripe-mock $STRIPE_MOCK_VERSION, http://127.0.0.1:$STRIPE_PORT) in $(elapsed "$t0")"
}

# --------------------------------------------------------------------- s3 --
#
# moto's server mode: an S3-compatible API on loopback (buckets, objects, multipart,
# server-side encryption headers), data in memory only. boto3 talks to it exactly as to AWS.
# Installed once from the Python package index into its own venv (no conflict with the app's pins).

MOTO_SPEC="moto[server]==5.2.5"
S3_VENV="$REPO_ROOT/.tools/s3-venv"
S3_DIR="$INFRA_DIR/s3"
S3_PIDFILE="$S3_DIR/moto.pid"
S3_LOG="$S3_DIR/moto.log"
S3_WAIT=30

s3_install() {
  if [[ -x $S3_VENV/bin/moto_server && $(cat "$S3_VENV/.installed" 2>/dev/null) == "$MOTO_SPEC" ]]; then
    return 0
  fi
  local t0
  t0=$(now_ms)
  say "s3: installing $MOTO_SPEC into $S3_VENV (once)"
  mkdir -p "$S3_DIR"
  python3 -m venv "$S3_VENV" >"$S3_DIR/install.log" 2>&1 || {
    show_log_tail "$S3_DIR/install.log"
    die "s3: python3 -m venv failed (apt-get install python3-venv)"
  }
  if ! "$S3_VENV/bin/pip" install --quiet "$MOTO_SPEC" >>"$S3_DIR/install.log" 2>&1 </dev/null; then
    show_log_tail "$S3_DIR/install.log"
    die "s3: pip install $MOTO_SPEC failed (log: $S3_DIR/install.log)"
  fi
  echo "$MOTO_SPEC" >"$S3_VENV/.installed"
  say "s3: installed in $(elapsed "$t0")"
}

s3_pid() {
  local pid
  [[ -r $S3_PIDFILE ]] || return 1
  pid=$(head -n1 "$S3_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *moto_server* ]] || return 1
  echo "$pid"
}

s3_env() { echo "export LINKFLOW_TEST_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT"; }

s3_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(s3_pid); then
    say "s3: already running (pid $pid, http://127.0.0.1:$S3_PORT)"
    return 0
  fi
  mkdir -p "$S3_DIR"
  rm -f "$S3_PIDFILE"
  s3_install
  port_open "$S3_PORT" && die "s3: port 127.0.0.1:$S3_PORT is already in use by another process (set LINKFLOW_INFRA_S3_PORT)"
  echo "### $(date -Is) starting $MOTO_SPEC" >>"$S3_LOG"
  (
    cd "$S3_DIR"
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$S3_PIDFILE" \
      "$S3_VENV/bin/python" "$S3_VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" \
      </dev/null >>"$S3_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < S3_WAIT * 5; i++)); do
    pid=$(head -n1 "$S3_PIDFILE" 2>/dev/null || true)
    if ((i > 5)) && ! pid_alive "$pid"; then
      show_log_tail "$S3_LOG"
      die "s3: moto_server exited during startup (log: $S3_LOG)"
    fi
    if port_open "$S3_PORT"; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$S3_LOG"
    pid_alive "$pid" && stop_pid s3 "$pid" 10
    die "s3: 127.0.0.1:$S3_PORT not accepting connections after ${S3_WAIT}s (log: $S3_LOG)"
  fi
  say "s3: started (pid $pid, $MOTO_SPEC, http://127.0.0.1:$S3_PORT) in $(elapsed "$t0")"
}

# --------------------------------------------------------- elasticsearch --
#
# A real Elasticsearch 8.19 node run from the Maven Central jars (no distribution
# download): `mvn dependency:copy-dependencies` fetches org.elasticsearch:elasticsearch and
# the transport-netty4 plugin into <repo>/.tools/elasticsearch-<version>/lib, javac compiles
# the small launcher in deploy/local/elasticsearch/src once (it builds the node with class
# path plugins: Netty4 for HTTP and one answering GET/HEAD /), both cached there. Data and
# log live in .infra/elasticsearch. Modules that are not on Maven Central are missing:
# language analyzers, scripts, _update_by_query/_delete_by_query/_reindex, ingest, security.

ES_VERSION=8.19.0
ES_TOOLS="$REPO_ROOT/.tools/elasticsearch-$ES_VERSION"
ES_LIB="$ES_TOOLS/lib"
ES_CLASSES="$ES_TOOLS/classes"
ES_NATIVE="$ES_TOOLS/native"
ES_SRC="$REPO_ROOT/deploy/local/elasticsearch/src"
ES_DIR="$INFRA_DIR/elasticsearch"
ES_PIDFILE="$ES_DIR/es.pid"
ES_LOG="$ES_DIR/es.log"
ES_MVN_LOG="$ES_TOOLS/mvn.log"
ES_WAIT=120

es_pid() {
  local pid
  [[ -r $ES_PIDFILE ]] || return 1
  pid=$(head -n1 "$ES_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  local cmd
  cmd=$(pid_cmdline "$pid")
  [[ $cmd == *org.elasticsearch.node.LinkflowNode* && $cmd == *"$ES_DIR"* ]] || return 1
  echo "$pid"
}

es_status_info() {
  if [[ $1 == running ]]; then printf '  version=%s' "$ES_VERSION"; fi
}
es_env() { echo "export LINKFLOW_TEST_ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT"; }

es_fetch() {
  [[ -f $ES_LIB/.complete ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "elasticsearch: mvn not found"
  mkdir -p "$ES_TOOLS"
  cat >"$ES_TOOLS/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/infra.sh: the class path of the local Elasticsearch node. -->
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.linkflow.infra</groupId>
  <artifactId>elasticsearch-runtime</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticsearch</groupId>
      <artifactId>elasticsearch</artifactId>
      <version>$ES_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.elasticsearch.plugin</groupId>
      <artifactId>transport-netty4</artifactId>
      <version>$ES_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  say "elasticsearch: fetching org.elasticsearch:elasticsearch:$ES_VERSION and transport-netty4 with Maven (timeout ${MVN_TIMEOUT}s)"
  rm -rf "$ES_LIB.tmp"
  local rc=0
  timeout "$MVN_TIMEOUT" mvn -B -q -ntp -Dstyle.color=never -f "$ES_TOOLS/pom.xml" \
    "org.apache.maven.plugins:maven-dependency-plugin:$DEP_PLUGIN_VERSION:copy-dependencies" \
    -DoutputDirectory="$ES_LIB.tmp" -DincludeScope=runtime </dev/null >"$ES_MVN_LOG" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]] || ! compgen -G "$ES_LIB.tmp/elasticsearch-$ES_VERSION.jar" >/dev/null; then
    rm -rf "$ES_LIB.tmp"
    show_log_tail "$ES_MVN_LOG" 30
    die "elasticsearch: Maven could not deliver Elasticsearch $ES_VERSION (exit $rc, see $ES_MVN_LOG; LINKFLOW_INFRA_MVN_TIMEOUT for the timeout)"
  fi
  rm -rf "$ES_LIB"
  mv "$ES_LIB.tmp" "$ES_LIB"
  echo "$ES_VERSION" >"$ES_LIB/.complete"
}

# es_build: compile the launcher when its sources changed (hash stamp), and link libzstd.
es_build() {
  command -v javac >/dev/null 2>&1 || die "elasticsearch: javac not found (install a JDK 17+, e.g. default-jdk-headless)"
  local hash
  hash=$(cat "$ES_SRC"/org/elasticsearch/*/*.java | sha256sum | cut -c1-16)
  if [[ $(cat "$ES_CLASSES/.stamp" 2>/dev/null) != "$hash" ]]; then
    rm -rf "$ES_CLASSES.tmp"
    mkdir -p "$ES_CLASSES.tmp"
    if ! javac -nowarn -d "$ES_CLASSES.tmp" -cp "$ES_LIB/*" "$ES_SRC"/org/elasticsearch/*/*.java >"$ES_TOOLS/javac.log" 2>&1; then
      show_log_tail "$ES_TOOLS/javac.log" 30
      die "elasticsearch: compiling the launcher failed (see $ES_TOOLS/javac.log)"
    fi
    echo "$hash" >"$ES_CLASSES.tmp/.stamp"
    rm -rf "$ES_CLASSES"
    mv "$ES_CLASSES.tmp" "$ES_CLASSES"
  fi
  # best_compression indices need zstd; Debian's libzstd.so.1 under the name ES looks for
  local zstd
  zstd=$(compgen -G '/usr/lib/x86_64-linux-gnu/libzstd.so.1' || compgen -G '/usr/lib/*/libzstd.so.1' | head -n1 || true)
  mkdir -p "$ES_NATIVE"
  if [[ -n $zstd ]]; then
    ln -sfn "$zstd" "$ES_NATIVE/libzstd.so"
  else
    warn "elasticsearch: libzstd.so.1 not found (apt-get install libzstd1); best_compression indices will fail"
  fi
}

es_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(es_pid); then
    say "elasticsearch: already running (pid $pid, http://127.0.0.1:$ES_PORT)"
    return 0
  fi
  command -v java >/dev/null 2>&1 || die "elasticsearch: java not found"
  kafka_java_check
  mkdir -p "$ES_DIR/data" "$ES_DIR/logs" "$ES_DIR/home"
  rm -f "$ES_PIDFILE"
  es_fetch
  es_build
  local p
  for p in "$ES_PORT" "$ES_TRANSPORT_PORT"; do
    port_open "$p" && die "elasticsearch: port 127.0.0.1:$p is already in use by another process (set LINKFLOW_INFRA_ES_PORT / LINKFLOW_INFRA_ES_TRANSPORT_PORT)"
  done
  echo "### $(date -Is) starting Elasticsearch $ES_VERSION" >>"$ES_LOG"
  (
    cd "$ES_DIR"
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$ES_PIDFILE" \
      java -Xms512m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
      -Des.nativelibs.path="$ES_NATIVE" -Dorg.elasticsearch.nativeaccess.enableVectorLibrary=false \
      -Dlog4j2.disable.jmx=true -Djava.io.tmpdir="$ES_DIR/home" \
      -cp "$ES_CLASSES:$ES_LIB/*" org.elasticsearch.node.LinkflowNode \
      path.home="$ES_DIR/home" path.data="$ES_DIR/data" path.logs="$ES_DIR/logs" \
      network.host=127.0.0.1 http.port="$ES_PORT" transport.port="$ES_TRANSPORT_PORT" \
      discovery.type=single-node cluster.name=linkflow-local node.name=linkflow-es \
      cluster.routing.allocation.disk.threshold_enabled=false action.auto_create_index=true \
      </dev/null >>"$ES_LOG" 2>&1 9>&- &
  )
  # Wait for the listener with ss before connecting: polling a port nobody listens on can
  # end in a TCP self-connect that then holds the port.
  local i ok=0
  for ((i = 0; i < ES_WAIT * 5; i++)); do
    pid=$(head -n1 "$ES_PIDFILE" 2>/dev/null || true)
    if ((i > 10)) && ! pid_alive "$pid"; then
      show_log_tail "$ES_LOG"
      die "elasticsearch: the node exited during startup (log: $ES_LOG)"
    fi
    if ss -Hltn "sport = :$ES_PORT" 2>/dev/null | grep -q . &&
      curl -fsS -o /dev/null --max-time 5 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$ES_LOG"
    pid_alive "$pid" && stop_pid elasticsearch "$pid" 30
    die "elasticsearch: http://127.0.0.1:$ES_PORT not ready after ${ES_WAIT}s (log: $ES_LOG)"
  fi
  say "elasticsearch: started (pid $pid, Elasticsearch $ES_VERSION, http://127.0.0.1:$ES_PORT) in $(elapsed "$t0")"
}

# ---------------------------------------------------------------- mariadb --
#
# Debian's MariaDB as a private server: its own data dir and socket under .infra/mariadb, no
# config files read (--no-defaults), listening on 127.0.0.1 only. Root logs in over the socket;
# the tests use the `linkflow` user (all privileges on linkflow_test and the lf_* databases they make).

MARIADB_DIR="$INFRA_DIR/mariadb"
MARIADB_DATA="$MARIADB_DIR/data"
MARIADB_SOCK="$MARIADB_DIR/mariadb.sock"
MARIADB_PIDFILE="$MARIADB_DIR/mariadb.pid"
MARIADB_LOG="$MARIADB_DIR/mariadb.log"
MARIADB_WAIT=60

mariadb_user() { [[ $IS_ROOT -eq 1 ]] && echo root || id -un; }

mariadb_pid() {
  local pid
  [[ -r $MARIADB_PIDFILE ]] || return 1
  pid=$(head -n1 "$MARIADB_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *mariadbd* ]] || return 1
  echo "$pid"
}

mariadb_env() { echo "export LINKFLOW_TEST_MARIADB_URL=mysql://linkflow:linkflow@127.0.0.1:$MARIADB_PORT/linkflow_test"; }

mariadb_sql() { mariadb --no-defaults --protocol=socket --socket="$MARIADB_SOCK" -uroot -e "$1"; }

mariadb_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(mariadb_pid); then
    say "mariadb: already running (pid $pid, 127.0.0.1:$MARIADB_PORT)"
    return 0
  fi
  port_open "$MARIADB_PORT" && die "mariadb: port 127.0.0.1:$MARIADB_PORT is already in use by another process (set LINKFLOW_INFRA_MARIADB_PORT)"
  mkdir -p "$MARIADB_DIR"
  if [[ ! -d $MARIADB_DATA/mysql ]]; then
    say "mariadb: creating the data directory $MARIADB_DATA (once)"
    mariadb-install-db --no-defaults --user="$(mariadb_user)" --datadir="$MARIADB_DATA" \
      --auth-root-authentication-method=socket --skip-test-db >"$MARIADB_DIR/install.log" 2>&1 || {
      show_log_tail "$MARIADB_DIR/install.log"
      die "mariadb: mariadb-install-db failed (log: $MARIADB_DIR/install.log)"
    }
  fi
  rm -f "$MARIADB_PIDFILE"
  echo "### $(date -Is) starting mariadbd" >>"$MARIADB_LOG"
  (
    setsid nohup mariadbd --no-defaults --user="$(mariadb_user)" --datadir="$MARIADB_DATA" \
      --socket="$MARIADB_SOCK" --pid-file="$MARIADB_PIDFILE" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
      --skip-name-resolve --innodb-buffer-pool-size=64M --max-connections=100 --log-error="$MARIADB_LOG" \
      </dev/null >>"$MARIADB_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < MARIADB_WAIT * 5; i++)); do
    if [[ -S $MARIADB_SOCK ]] && port_open "$MARIADB_PORT" && mariadb_sql "SELECT 1" >/dev/null 2>&1; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$MARIADB_LOG"
    pid=$(head -n1 "$MARIADB_PIDFILE" 2>/dev/null || true)
    pid_alive "$pid" && stop_pid mariadb "$pid" 20
    die "mariadb: not answering on 127.0.0.1:$MARIADB_PORT after ${MARIADB_WAIT}s (log: $MARIADB_LOG)"
  fi
  mariadb_sql "CREATE USER IF NOT EXISTS 'linkflow'@'127.0.0.1' IDENTIFIED BY 'linkflow';
    CREATE DATABASE IF NOT EXISTS linkflow_test;
    GRANT ALL PRIVILEGES ON \`linkflow_test\`.* TO 'linkflow'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON \`lf\_%\`.* TO 'linkflow'@'127.0.0.1';" ||
    die "mariadb: could not create the linkflow user and database"
  pid=$(mariadb_pid) || die "mariadb: started but its pid file $MARIADB_PIDFILE is missing"
  say "mariadb: started (pid $pid, 127.0.0.1:$MARIADB_PORT) in $(elapsed "$t0")"
}

# -------------------------------------------------------------------- ssh --
#
# Debian's OpenSSH server as a private test server: its own host key, config, authorized_keys and log
# under .infra/ssh (as root, when other users cannot reach the checkout: /var/tmp/linkflow-infra-<hash>/ssh),
# listening on 127.0.0.1 only, pid tracked in sshd.pid there.
#  - as a normal user it runs as that user (sshd needs no /run/sshd then) and lets only that user in,
#    by key; password login cannot work there (an unprivileged sshd cannot read /etc/shadow).
#  - as root it runs in a private mount namespace (unshare) with a tmpfs on /run (sshd's privilege
#    separation wants /run/sshd) and private copies of /etc/passwd and /etc/group plus an /etc/shadow with
#    only its own entry, bind-mounted there, which add an unprivileged user `linkflow` (password `linkflow`)
#    that exists only for this sshd: the machine's accounts are not touched. Logins run as that user, by key
#    or password.

# As root, sshd reads authorized_keys, and logins run, as the private user `linkflow`: it must reach SSH_DIR.
SSH_DIR=$(private_user_dir ssh)
SSH_PIDFILE="$SSH_DIR/sshd.pid"
SSH_LOG="$SSH_DIR/sshd.log"
SSH_WAIT=30
SSH_PRIVATE_UID=42022
SSH_PASSWORD=linkflow

ssh_user() { [[ $IS_ROOT -eq 1 ]] && echo linkflow || id -un; }

ssh_pid() {
  local pid
  [[ -r $SSH_PIDFILE ]] || return 1
  pid=$(head -n1 "$SSH_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *sshd* ]] || return 1
  echo "$pid"
}

# ssh_keys: the server's host key and the test client's key pair, made once.
ssh_keys() {
  make_service_dir "$SSH_DIR"
  chmod 755 "$SSH_DIR"
  [[ -f $SSH_DIR/host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C linkflow-test-host -f "$SSH_DIR/host_ed25519_key"
  [[ -f $SSH_DIR/client_key ]] || ssh-keygen -q -t ed25519 -N '' -C linkflow-test-client -f "$SSH_DIR/client_key"
  cp "$SSH_DIR/client_key.pub" "$SSH_DIR/authorized_keys"
  chmod 644 "$SSH_DIR/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519_key.pub")" >"$SSH_DIR/known_hosts"
}

# ssh_accounts (root only): the private passwd/group/shadow that add the `linkflow` user for this sshd.
ssh_accounts() {
  local uid=$SSH_PRIVATE_UID hash
  while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do uid=$((uid + 1)); done
  getent passwd linkflow >/dev/null && die "ssh: an OS user 'linkflow' already exists; the test server adds its own"
  mkdir -p "$SSH_DIR/home" "$SSH_DIR/etc"
  chown "$uid:$uid" "$SSH_DIR/home"
  chmod 755 "$SSH_DIR/home"
  hash=$(openssl passwd -6 "$SSH_PASSWORD")
  { cat /etc/passwd; echo "linkflow:x:$uid:$uid:LinkFlow SSH test user:$SSH_DIR/home:/bin/bash"; } >"$SSH_DIR/etc/passwd"
  { cat /etc/group; echo "linkflow:x:$uid:"; } >"$SSH_DIR/etc/group"
  # only this user: the machine's password hashes are not copied (sshd reads no one else's here)
  echo "linkflow:$hash:19000:0:99999:7:::" >"$SSH_DIR/etc/shadow"
  chmod 644 "$SSH_DIR/etc/passwd" "$SSH_DIR/etc/group"
  chmod 600 "$SSH_DIR/etc/shadow"
}

ssh_write_config() {
  local password=no
  [[ $IS_ROOT -eq 1 ]] && password=yes
  cat >"$SSH_DIR/sshd_config" <<CONF
# Generated by deploy/local/infra.sh on every 'up'; edits are overwritten. A throw-away test server.
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $SSH_DIR/host_ed25519_key
PidFile $SSH_PIDFILE
AuthorizedKeysFile $SSH_DIR/authorized_keys
AllowUsers $(ssh_user)
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication $password
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTunnel no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 50
LogLevel INFO
CONF
}

ssh_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(ssh_pid); then
    say "ssh: already running (pid $pid, 127.0.0.1:$SSH_PORT)"
    return 0
  fi
  port_open "$SSH_PORT" && die "ssh: port 127.0.0.1:$SSH_PORT is already in use by another process (set LINKFLOW_INFRA_SSH_PORT)"
  ssh_keys
  ssh_write_config
  rm -f "$SSH_PIDFILE"
  echo "### $(date -Is) starting sshd" >>"$SSH_LOG"
  if [[ $IS_ROOT -eq 1 ]]; then
    ssh_accounts
    (
      setsid nohup unshare --mount --propagation private bash -c '
        set -e
        mount -t tmpfs -o mode=755,size=1m linkflow-sshd-run /run
        mkdir -m 755 /run/sshd
        for f in passwd group shadow; do mount --bind "$0/etc/$f" "/etc/$f"; done
        exec /usr/sbin/sshd -D -e -f "$0/sshd_config"' "$SSH_DIR" </dev/null >>"$SSH_LOG" 2>&1 9>&- &
    )
  else
    (setsid nohup /usr/sbin/sshd -D -e -f "$SSH_DIR/sshd_config" </dev/null >>"$SSH_LOG" 2>&1 9>&- &)
  fi
  # Ready when a real login by key runs a command (the listener alone says nothing about auth).
  local ok=0 deadline=$(($(now_ms) + SSH_WAIT * 1000))
  while (($(now_ms) < deadline)); do
    if ss -Hltn "sport = :$SSH_PORT" 2>/dev/null | grep -q . &&
      timeout 5 ssh -F none -n -p "$SSH_PORT" -i "$SSH_DIR/client_key" -o IdentitiesOnly=yes -o BatchMode=yes \
        -o UserKnownHostsFile="$SSH_DIR/known_hosts" -o StrictHostKeyChecking=yes -o LogLevel=ERROR \
        "$(ssh_user)@127.0.0.1" true 2>>"$SSH_LOG"; then
      ok=1
      break
    fi
    sleep 0.1
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$SSH_LOG"
    pid=$(head -n1 "$SSH_PIDFILE" 2>/dev/null || true)
    pid_alive "$pid" && stop_pid sshd "$pid" 10
    die "ssh: no login by key on 127.0.0.1:$SSH_PORT after ${SSH_WAIT}s (log: $SSH_LOG)"
  fi
  pid=$(ssh_pid) || die "ssh: started but its pid file $SSH_PIDFILE is missing"
  say "ssh: started (pid $pid, 127.0.0.1:$SSH_PORT, user $(ssh_user)) in $(elapsed "$t0")"
}

ssh_env() {
  echo "export LINKFLOW_TEST_SSH_HOST=127.0.0.1"
  echo "export LINKFLOW_TEST_SSH_PORT=$SSH_PORT"
  echo "export LINKFLOW_TEST_SSH_USER=$(ssh_user)"
  echo "export LINKFLOW_TEST_SSH_KEY_FILE=$SSH_DIR/client_key"
  echo "export LINKFLOW_TEST_SSH_HOST_KEY_FILE=$SSH_DIR/host_ed25519_key.pub"
  # password login works only when the server runs as root (see above)
  [[ $IS_ROOT -eq 1 ]] && echo "export LINKFLOW_TEST_SSH_PASSWORD=$SSH_PASSWORD"
  return 0
}

# ------------------------------------------------------------------- imap --
#
# Debian's Dovecot 2.3 as a plain foreground process (`dovecot -F -c private.conf`): its own config,
# users file (passwd-file, PLAIN passwords: a throw-away test server), maildirs, base and state dirs under
# .infra/imap, listening on 127.0.0.1 only: IMAP (plain login allowed, STARTTLS offered) and IMAPS, with a
# self-signed certificate for localhost made once with openssl (.infra/imap/tls). As root the mail processes run
# as the `dovecot` OS user, else as the caller. Nothing in /etc/dovecot is read.

# As root, Dovecot reads the users file and the mail as its own users: they must reach IMAP_DIR.
IMAP_DIR=$(private_user_dir imap)
IMAP_CONF="$IMAP_DIR/private.conf"
IMAP_PIDFILE="$IMAP_DIR/dovecot.pid"
IMAP_LOG="$IMAP_DIR/dovecot.log"
IMAP_WAIT=30

dovecot_installed() { command -v dovecot >/dev/null 2>&1 || [[ -x /usr/sbin/dovecot ]]; }
dovecot_bin() { command -v dovecot 2>/dev/null || echo /usr/sbin/dovecot; }

imap_pid() {
  local pid
  [[ -r $IMAP_PIDFILE ]] || return 1
  pid=$(head -n1 "$IMAP_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *dovecot*"$IMAP_CONF"* ]] || return 1
  echo "$pid"
}

imap_status_info() {
  if [[ $1 == running ]]; then printf '  imaps=%s' "$IMAPS_PORT"; fi
}
imap_env() {
  echo "export LINKFLOW_TEST_IMAP_HOST=127.0.0.1 LINKFLOW_TEST_IMAP_PORT=$IMAP_PORT LINKFLOW_TEST_IMAPS_PORT=$IMAPS_PORT"
  echo "export LINKFLOW_TEST_IMAP_USER=linkflow LINKFLOW_TEST_IMAP_PASSWORD=linkflow"
}

imap_write_config() {
  local mail_user mail_uid mail_gid own_users=""
  if [[ $IS_ROOT -eq 1 ]]; then mail_user=dovecot; else mail_user=$(id -un); fi
  mail_uid=$(id -u "$mail_user") || die "imap: OS user $mail_user does not exist (it comes with dovecot-core)"
  mail_gid=$(id -g "$mail_user")
  make_service_dir "$IMAP_DIR"
  mkdir -p "$IMAP_DIR/mail" "$IMAP_DIR/state"
  [[ $IS_ROOT -eq 1 ]] && chown "$mail_uid:$mail_gid" "$IMAP_DIR/mail"
  [[ $IS_ROOT -eq 1 ]] || own_users="default_internal_user = $mail_user
default_login_user = $mail_user"
  if [[ ! -s $IMAP_DIR/tls/cert.pem ]]; then
    mkdir -p "$IMAP_DIR/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
      -keyout "$IMAP_DIR/tls/key.pem" -out "$IMAP_DIR/tls/cert.pem" >"$IMAP_DIR/tls/openssl.log" 2>&1 ||
      die "imap: openssl could not make the test certificate (see $IMAP_DIR/tls/openssl.log)"
    chmod 600 "$IMAP_DIR/tls/key.pem"
  fi
  printf 'linkflow:{PLAIN}linkflow\nother:{PLAIN}other\n' >"$IMAP_DIR/users"
  chmod 644 "$IMAP_DIR/users"
  cat >"$IMAP_CONF" <<EOF
# Generated by deploy/local/infra.sh on every 'up imap'; edits are overwritten. A throw-away test server.
instance_name = linkflow-imap-$IMAP_PORT
base_dir = $IMAP_DIR/run
state_dir = $IMAP_DIR/state
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <$IMAP_DIR/tls/cert.pem
ssl_key = <$IMAP_DIR/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = $IMAP_LOG
mail_location = maildir:$IMAP_DIR/mail/%u
first_valid_uid = $mail_uid
last_valid_uid = $mail_uid
first_valid_gid = $mail_gid
last_valid_gid = $mail_gid
$own_users
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $IMAP_DIR/users
}
userdb {
  driver = static
  args = uid=$mail_uid gid=$mail_gid home=$IMAP_DIR/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
  }
}
EOF
}

# imap_login_ok: a LOGIN over the port answers OK (the readiness check).
imap_login_ok() {
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$IMAP_PORT && read -r greeting <&3 &&
    printf 'a LOGIN linkflow linkflow\r\nb LOGOUT\r\n' >&3 && grep -q '^a OK' <&3" 2>/dev/null
}

imap_up() {
  local t0 pid
  t0=$(now_ms)
  if pid=$(imap_pid); then
    say "imap: already running (pid $pid, 127.0.0.1:$IMAP_PORT)"
    return 0
  fi
  port_open "$IMAP_PORT" && die "imap: port 127.0.0.1:$IMAP_PORT is already in use by another process (set LINKFLOW_INFRA_IMAP_PORT)"
  port_open "$IMAPS_PORT" && die "imap: port 127.0.0.1:$IMAPS_PORT is already in use by another process (set LINKFLOW_INFRA_IMAPS_PORT)"
  dovecot_installed || die "imap: dovecot not found (apt-get install dovecot-imapd)"
  imap_write_config
  rm -f "$IMAP_PIDFILE"
  echo "### $(date -Is) starting dovecot" >>"$IMAP_LOG"
  (
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$IMAP_PIDFILE" "$(dovecot_bin)" -F -c "$IMAP_CONF" \
      </dev/null >>"$IMAP_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < IMAP_WAIT * 10; i++)); do
    pid=$(head -n1 "$IMAP_PIDFILE" 2>/dev/null || true)
    if ((i > 20)) && ! pid_alive "$pid"; then
      show_log_tail "$IMAP_LOG"
      die "imap: dovecot exited during startup (log: $IMAP_LOG)"
    fi
    if ss -Hltn "sport = :$IMAP_PORT" 2>/dev/null | grep -q . && imap_login_ok; then
      ok=1
      break
    fi
    sleep 0.1
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$IMAP_LOG"
    pid_alive "$pid" && stop_pid imap "$pid" 10
    die "imap: no IMAP login on 127.0.0.1:$IMAP_PORT after ${IMAP_WAIT}s (log: $IMAP_LOG)"
  fi
  say "imap: started (pid $pid, Dovecot $("$(dovecot_bin)" --version | cut -d' ' -f1), 127.0.0.1:$IMAP_PORT, IMAPS $IMAPS_PORT) in $(elapsed "$t0")"
}

# --------------------------------------------------------------- rabbitmq --
#
# Debian's rabbitmq-server 3.10 as plain processes, no init system: our own epmd on 127.0.0.1, then
# the broker from /usr/lib/rabbitmq/bin (it runs as the calling user) with every path under
# .infra/rabbitmq (data, logs, config, plugins list, and HOME, so the Erlang cookie is private too).
# AMQP and the Erlang distribution port listen on 127.0.0.1 only; no plugins (no management UI).
# User linkflow/linkflow, vhost "/" (made on the first boot from rabbitmq.conf).

RABBITMQ_DIR="$INFRA_DIR/rabbitmq"
RABBITMQ_PIDFILE="$RABBITMQ_DIR/rabbitmq.pid"
RABBITMQ_EPMD_PIDFILE="$RABBITMQ_DIR/epmd.pid"
RABBITMQ_LOG="$RABBITMQ_DIR/rabbitmq.out"
RABBITMQ_WAIT=90

rabbitmq_pid() {
  local pid
  [[ -r $RABBITMQ_PIDFILE ]] || return 1
  pid=$(head -n1 "$RABBITMQ_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *beam*rabbit* ]] || return 1
  echo "$pid"
}

rabbitmq_env() { echo "export LINKFLOW_TEST_RABBITMQ_URL=amqp://linkflow:linkflow@127.0.0.1:$RABBITMQ_PORT/%2F"; }

rabbitmq_epmd_pid() {
  local pid
  [[ -r $RABBITMQ_EPMD_PIDFILE ]] || return 1
  pid=$(head -n1 "$RABBITMQ_EPMD_PIDFILE" 2>/dev/null || true)
  pid_alive "$pid" || return 1
  [[ $(pid_cmdline "$pid") == *epmd*"-port $RABBITMQ_EPMD_PORT"* ]] || return 1
  echo "$pid"
}

# rabbitmq_amqp_ready: the AMQP listener answers the protocol header with a Connection.Start frame
# (listeners open at the end of the boot, so this means the broker is ready).
rabbitmq_amqp_ready() {
  timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$RABBITMQ_PORT"'; printf "AMQP\x00\x00\x09\x01" >&3;
    [[ $(head -c1 <&3 | od -An -tx1 | tr -d " ") == 01 ]]' 2>/dev/null
}

rabbitmq_write_config() {
  mkdir -p "$RABBITMQ_DIR/home" "$RABBITMQ_DIR/mnesia" "$RABBITMQ_DIR/log"
  cat >"$RABBITMQ_DIR/rabbitmq.conf" <<CONF
# written by deploy/local/infra.sh on every start
listeners.tcp.1 = 127.0.0.1:$RABBITMQ_PORT
listeners.ssl = none
default_user = linkflow
default_pass = linkflow
default_vhost = /
loopback_users = none
log.file.level = warning
log.console = false
CONF
  echo '[].' >"$RABBITMQ_DIR/enabled_plugins"
  : >"$RABBITMQ_DIR/rabbitmq-env.conf"
}

rabbitmq_up() {
  local t0 pid epid
  t0=$(now_ms)
  if pid=$(rabbitmq_pid); then
    say "rabbitmq: already running (pid $pid, amqp://127.0.0.1:$RABBITMQ_PORT)"
    return 0
  fi
  [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || die "rabbitmq: /usr/lib/rabbitmq/bin/rabbitmq-server is missing (apt-get install rabbitmq-server)"
  port_open "$RABBITMQ_PORT" && die "rabbitmq: port 127.0.0.1:$RABBITMQ_PORT is already in use by another process (set LINKFLOW_INFRA_RABBITMQ_PORT)"
  port_open "$RABBITMQ_DIST_PORT" && die "rabbitmq: distribution port 127.0.0.1:$RABBITMQ_DIST_PORT is already in use (set LINKFLOW_INFRA_RABBITMQ_DIST_PORT)"
  rabbitmq_write_config
  rm -f "$RABBITMQ_PIDFILE"
  echo "### $(date -Is) starting epmd and rabbitmq-server" >>"$RABBITMQ_LOG"
  if ! epid=$(rabbitmq_epmd_pid); then
    port_open "$RABBITMQ_EPMD_PORT" && die "rabbitmq: epmd port 127.0.0.1:$RABBITMQ_EPMD_PORT is already in use (set LINKFLOW_INFRA_RABBITMQ_EPMD_PORT)"
    (
      setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$RABBITMQ_EPMD_PIDFILE" \
        epmd -address 127.0.0.1 -port "$RABBITMQ_EPMD_PORT" </dev/null >>"$RABBITMQ_LOG" 2>&1 9>&- &
    )
  fi
  (
    cd "$RABBITMQ_DIR"
    export HOME="$RABBITMQ_DIR/home" RABBITMQ_NODENAME=rabbit@localhost RABBITMQ_USE_LONGNAME=false \
      ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$RABBITMQ_PORT" \
      RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT" RABBITMQ_CONF_ENV_FILE="$RABBITMQ_DIR/rabbitmq-env.conf" \
      RABBITMQ_CONFIG_FILE="$RABBITMQ_DIR/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$RABBITMQ_DIR/advanced.config" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_DIR/enabled_plugins" RABBITMQ_MNESIA_BASE="$RABBITMQ_DIR/mnesia" \
      RABBITMQ_LOG_BASE="$RABBITMQ_DIR/log" RABBITMQ_PID_FILE="$RABBITMQ_PIDFILE" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$RABBITMQ_DIR/launcher.pid" \
      /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >>"$RABBITMQ_LOG" 2>&1 9>&- &
  )
  local i ok=0
  for ((i = 0; i < RABBITMQ_WAIT * 5; i++)); do
    if port_open "$RABBITMQ_PORT" && rabbitmq_amqp_ready; then
      ok=1
      break
    fi
    if ((i > 25)) && ! pid_alive "$(head -n1 "$RABBITMQ_DIR/launcher.pid" 2>/dev/null || true)"; then
      show_log_tail "$RABBITMQ_LOG"
      die "rabbitmq: rabbitmq-server exited during startup (logs: $RABBITMQ_LOG, $RABBITMQ_DIR/log)"
    fi
    sleep 0.2
  done
  if [[ $ok -ne 1 ]]; then
    show_log_tail "$RABBITMQ_LOG"
    pid=$(head -n1 "$RABBITMQ_PIDFILE" 2>/dev/null || true)
    pid_alive "$pid" && stop_pid rabbitmq "$pid" 20
    die "rabbitmq: not answering AMQP on 127.0.0.1:$RABBITMQ_PORT after ${RABBITMQ_WAIT}s (logs: $RABBITMQ_LOG, $RABBITMQ_DIR/log)"
  fi
  pid=$(rabbitmq_pid) || die "rabbitmq: started but its pid file $RABBITMQ_PIDFILE is missing"
  say "rabbitmq: started (pid $pid, amqp://127.0.0.1:$RABBITMQ_PORT, epmd $RABBITMQ_EPMD_PORT, distribution $RABBITMQ_DIST_PORT) in $(elapsed "$t0")"
}

rabbitmq_down() {
  local pid epid stopped=0
  if pid=$(rabbitmq_pid); then
    stop_pid rabbitmq "$pid" 30 # SIGTERM: the broker shuts down cleanly
    say "rabbitmq: stopped (was pid $pid)"
    stopped=1
  fi
  if epid=$(rabbitmq_epmd_pid); then
    stop_pid rabbitmq-epmd "$epid" 10
    say "rabbitmq: epmd stopped (was pid $epid)"
    stopped=1
  fi
  rm -f "$RABBITMQ_PIDFILE" "$RABBITMQ_EPMD_PIDFILE" "$RABBITMQ_DIR/launcher.pid"
  [[ $stopped -eq 1 ]] || say "rabbitmq: not running"
}

# --------------------------------------------------------------- services --
#
# One row per service, in the order `status` and `env` list them. Columns:
#   names    the service's name, then the other names the command line accepts for it
#   fn       prefix of its functions: <fn>_pid (prints the pid if it runs), <fn>_up, <fn>_env (its `env` lines);
#            optional hooks where a service differs: <fn>_down and <fn>_purge (replace the generic ones),
#            <fn>_running_port PID (the port it really runs on), <fn>_status_info running|stopped (text
#            appended to its status line)
#   label    first column of its `status` line
#   port     variable holding its port
#   dir      variable holding its directory under .infra/ (what `down --purge` deletes)
#   pidfile  variable holding the pid file `down` removes ("-": none, the server removes its own or <fn>_down
#            does)
#   grace    seconds `down` waits after SIGTERM before SIGKILL ("-": <fn>_down decides)
#   group    base:  in the default set of `up` and `status` (unless a base service is named)
#            addon: naming it still brings the base set
#            alone: naming only such services starts / checks just them
#   start    bg: `up` starts it in the background, beside the others (slow starters); fg: in turn
#   up down  order of starting and stopping (lower first; equal: table order)
# `down --purge` says "<name>: data purged" unless SVC_PURGED below has another text.
SERVICE_TABLE='
  postgres,postgresql,pg    pg        postgres  PG_PORT        PG_LINK        -               -   base   fg   8   10
  redis                     redis     redis     REDIS_PORT     REDIS_DIR      REDIS_PIDFILE   20  base   fg   9   9
  kafka                     kafka     kafka     KAFKA_PORT     KAFKA_DIR      KAFKA_PIDFILE   60  addon  fg   10  8
  stripe,stripe-mock        stripe    stripe    STRIPE_PORT    STRIPE_DIR     STRIPE_PIDFILE  10  alone  bg   1   7
  s3,moto                   s3        s3        S3_PORT        S3_DIR         S3_PIDFILE      10  alone  fg   4   2
  elasticsearch,es,elastic  es        elastic   ES_PORT        ES_DIR         ES_PIDFILE      60  alone  bg   2   1
  mariadb,mysql             mariadb   mariadb   MARIADB_PORT   MARIADB_DIR    -               30  alone  fg   5   3
  ssh,sshd                  ssh       ssh       SSH_PORT       SSH_DIR        -               10  alone  fg   6   4
  imap,dovecot              imap      imap      IMAP_PORT      IMAP_DIR       IMAP_PIDFILE    15  alone  fg   7   5
  rabbitmq,rabbit,amqp      rabbitmq  rabbitmq  RABBITMQ_PORT  RABBITMQ_DIR   -               -   alone  bg   3   6
'
declare -A SVC_PURGED=(
  [stripe]="data purged (the stripe-mock build in $GO_DIR stays)"
  [s3]="data purged (it was in memory; the venv in $S3_VENV stays)"
  [elasticsearch]="data purged (the jars in $ES_TOOLS stay)"
  [ssh]="keys, home and log purged"
)

SVC_NAMES=() # table order
declare -A SVC_ALIASES SVC_FN SVC_LABEL SVC_PORT SVC_DIR SVC_PIDFILE SVC_GRACE SVC_GROUP SVC_START
svc_load_table() {
  local names fn label port dir pidfile grace group start up down name f up_keys=() down_keys=()
  while read -r names fn label port dir pidfile grace group start up down; do
    [[ -n $names ]] || continue
    name=${names%%,*}
    SVC_NAMES+=("$name")
    SVC_ALIASES[$name]=${names//,/ }
    SVC_FN[$name]=$fn
    SVC_LABEL[$name]=$label
    SVC_PORT[$name]=$port
    SVC_DIR[$name]=$dir
    SVC_PIDFILE[$name]=$pidfile
    SVC_GRACE[$name]=$grace
    SVC_GROUP[$name]=$group
    SVC_START[$name]=$start
    up_keys+=("$up $name")
    down_keys+=("$down $name")
    for f in pid up env; do
      declare -F "${fn}_$f" >/dev/null || die "service table: $name has no function ${fn}_$f"
    done
    [[ $group =~ ^(base|addon|alone)$ && $start =~ ^(fg|bg)$ && $up =~ ^[0-9]+$ && $down =~ ^[0-9]+$ ]] ||
      die "service table: bad row for $name"
  done <<<"$SERVICE_TABLE"
  mapfile -t SVC_UP_ORDER < <(printf '%s\n' "${up_keys[@]}" | sort -s -n -k1,1 | cut -d' ' -f2)
  mapfile -t SVC_DOWN_ORDER < <(printf '%s\n' "${down_keys[@]}" | sort -s -n -k1,1 | cut -d' ' -f2)
}
svc_load_table

# svc_lookup WORD: the service WORD names (its name or another name of it), else fail.
svc_lookup() {
  local name alias
  for name in "${SVC_NAMES[@]}"; do
    for alias in ${SVC_ALIASES[$name]}; do
      if [[ $1 == "$alias" ]]; then
        echo "$name"
        return 0
      fi
    done
  done
  return 1
}

# svc_down NAME: stop it (SIGTERM, SIGKILL after its grace time) and remove its pid file.
svc_down() {
  local name=$1 fn=${SVC_FN[$1]} pidfile=${SVC_PIDFILE[$1]} pid
  if declare -F "${fn}_down" >/dev/null; then
    "${fn}_down"
    return 0
  fi
  if [[ $pidfile == - ]]; then pidfile=""; else pidfile=${!pidfile}; fi
  if ! pid=$("${fn}_pid"); then
    if [[ -n $pidfile ]]; then rm -f "$pidfile"; fi
    say "$name: not running"
    return 0
  fi
  stop_pid "$name" "$pid" "${SVC_GRACE[$name]}"
  if [[ -n $pidfile ]]; then rm -f "$pidfile"; fi
  say "$name: stopped (was pid $pid)"
}

# svc_purge NAME: delete its data (its directory under .infra/).
svc_purge() {
  local name=$1 fn=${SVC_FN[$1]} dir=${SVC_DIR[$1]}
  if declare -F "${fn}_purge" >/dev/null; then
    "${fn}_purge"
    return 0
  fi
  rm -rf -- "${!dir}"
  say "$name: ${SVC_PURGED[$name]:-data purged}"
}

# svc_status NAME: its status line; true iff it runs.
svc_status() {
  local name=$1 fn=${SVC_FN[$1]} port_var=${SVC_PORT[$1]} pid port state=running info=""
  port=${!port_var}
  if pid=$("${fn}_pid"); then
    if declare -F "${fn}_running_port" >/dev/null; then port=$("${fn}_running_port" "$pid"); fi
  else
    state=stopped
    pid=-
  fi
  if declare -F "${fn}_status_info" >/dev/null; then info=$("${fn}_status_info" "$state"); fi
  printf '%-9s %s  pid=%-8s port=%s%s\n' "${SVC_LABEL[$name]}" "$state" "$pid" "$port" "$info"
  [[ $state == running ]]
}

# ------------------------------------------------------------------- main --

SERVICES=()
want() {
  local s
  for s in "${SERVICES[@]}"; do [[ $s == "$1" ]] && return 0; done
  return 1
}

lock_infra() {
  mkdir -p "$INFRA_DIR"
  exec 9>"$INFRA_DIR/.lock"
  flock -w 900 9 || die "another infra.sh is still running (lock $INFRA_DIR/.lock)"
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  local purge=0 named=() a s
  for a in "$@"; do
    case $a in
      --purge) purge=1 ;;
      -h | --help)
        usage
        exit 0
        ;;
      *)
        s=$(svc_lookup "$a") || die "unknown argument '$a' (services: ${SVC_NAMES[*]})"
        named+=("$s")
        ;;
    esac
  done
  [[ $purge -eq 1 && $cmd != down ]] && die "--purge only goes with 'down'"

  # up and status: the base set (postgres, redis) comes along unless a base service is named or
  # only services of the group "alone" are
  local has_base=0 only_alone=1
  for s in "${named[@]}"; do
    if [[ ${SVC_GROUP[$s]} == base ]]; then has_base=1; fi
    if [[ ${SVC_GROUP[$s]} != alone ]]; then only_alone=0; fi
  done
  [[ ${#named[@]} -gt 0 && $only_alone -eq 1 ]] && has_base=1
  case $cmd in
    up | status)
      if [[ $has_base -eq 0 ]]; then
        for s in "${SVC_NAMES[@]}"; do
          if [[ ${SVC_GROUP[$s]} == base ]]; then SERVICES+=("$s"); fi
        done
      fi
      ;;
    down | env)
      if [[ ${#named[@]} -eq 0 ]]; then SERVICES=("${SVC_NAMES[@]}"); fi
      ;;
    -h | --help | help)
      usage
      exit 0
      ;;
    "")
      usage >&2
      exit 2
      ;;
    *) die "unknown command '$cmd' (use up, down, status or env)" ;;
  esac
  for s in "${named[@]}"; do want "$s" || SERVICES+=("$s"); done

  case $cmd in
    up)
      lock_infra
      local t0 bg_names=() bg_pids=() i
      t0=$(now_ms)
      ensure_packages
      for s in "${SVC_UP_ORDER[@]}"; do
        want "$s" || continue
        if [[ ${SVC_START[$s]} == bg ]]; then
          # a slow starter (stripe-mock's first Go build, a JVM, the Erlang VM) comes up beside the others
          "${SVC_FN[$s]}_up" &
          bg_names+=("$s")
          bg_pids+=("$!")
        else
          "${SVC_FN[$s]}_up"
        fi
      done
      for i in "${!bg_pids[@]}"; do
        wait "${bg_pids[$i]}" || die "${bg_names[$i]}: failed to start (see above)"
      done
      say "up: ${SERVICES[*]} ready in $(elapsed "$t0"); test settings: eval \"\$($0 env)\""
      ;;
    down)
      lock_infra
      for s in "${SVC_DOWN_ORDER[@]}"; do
        if want "$s"; then svc_down "$s"; fi
      done
      if [[ $purge -eq 1 ]]; then
        for s in "${SVC_DOWN_ORDER[@]}"; do
          if want "$s"; then svc_purge "$s"; fi
        done
        rmdir -- "$ALT_BASE" 2>/dev/null || true
        if [[ ${#named[@]} -eq 0 ]]; then
          rm -rf -- "$INFRA_DIR"
          say "removed $INFRA_DIR"
        fi
      fi
      ;;
    status)
      local rc=0
      for s in "${SVC_NAMES[@]}"; do
        if want "$s"; then
          svc_status "$s" || rc=1
        elif [[ ${#named[@]} -eq 0 ]]; then
          svc_status "$s" || true # informational only: the services outside the base set are optional
        fi
      done
      exit "$rc"
      ;;
    env)
      for s in "${SVC_NAMES[@]}"; do
        if want "$s"; then "${SVC_FN[$s]}_env"; fi
      done
      ;;
  esac
  return 0
}

main "$@"
