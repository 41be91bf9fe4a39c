# syntax=docker/dockerfile:1
# One image for every LinkFlow role: `docker run IMAGE serve --role api`, `... worker`, `... up`.
# Build: make docker-build (IMAGE=registry/linkflow/linkflow TAG=x). The UI bundle is built here, so a
# ui pod only rebuilds it against its own REFLEX_API_URL at start (seconds, packages already installed).

# ---- build: Python dependencies, bun (from npm), the Reflex UI bundle -------------------------------
FROM python:3.11.14-slim-bookworm AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REFLEX_USE_SYSTEM_BUN=1 REFLEX_DIR=/app/.reflex-home REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false BUN_INSTALL_CACHE_DIR=/tmp/bun-cache \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=/tmp/bun-transpiler PATH=/app/.tools/bin:/opt/venv/bin:$PATH
# npm only installs bun (the notes in README: bun comes from the npm registry, never its installer)
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
RUN python -m venv /opt/venv
# dependencies first: this layer is reused until pyproject.toml changes
COPY pyproject.toml README.md ./
RUN mkdir -p backend executors nodes ui && touch backend/__init__.py executors/__init__.py nodes/__init__.py ui/__init__.py \
 && pip install --no-cache-dir -e . \
 && rm -rf backend executors nodes ui linkflow.egg-info
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && npm install --prefix .tools --no-audit --no-fund --loglevel=error bun@1.4.4 \
 && mkdir -p .tools/bin \
 && for b in .tools/node_modules/bun/bin/bun.exe .tools/node_modules/@oven/bun-linux-x64/bin/bun; do \
      if [ -x "$b" ] && "$b" --version >/dev/null 2>&1; then ln -sf "/app/$b" .tools/bin/bun; break; fi; done \
 && bun --version \
 && REFLEX_API_URL=http://127.0.0.1:8000 reflex export --frontend-only --no-zip \
 && rm -rf /tmp/bun-cache /tmp/bun-transpiler .reflex-home/*.log tests bench

# ---- runtime ---------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# bubblewrap: the Code node sandbox (LINKFLOW_CODE_SANDBOX=bwrap); postgresql-client and redis-tools:
# the backup CronJob (deploy/backup/backup.py runs pg_dump / redis-cli --rdb)
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap postgresql-client redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 linkflow \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin linkflow
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /app /app
WORKDIR /app
ENV PATH=/app/.tools/bin:/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    REFLEX_USE_SYSTEM_BUN=1 REFLEX_DIR=/tmp/reflex-home REFLEX_TELEMETRY_ENABLED=false \
    REFLEX_CHECK_LATEST_VERSION=false BUN_INSTALL_CACHE_DIR=/tmp/bun-cache \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=/tmp/bun-transpiler \
    LINKFLOW_HTTP_HOST=0.0.0.0 LINKFLOW_HTTP_PORT=8000 LINKFLOW_DATA_DIR=/data
RUN mkdir -p /data && chown 10001:10001 /data
USER 10001:10001
EXPOSE 8000 9464
# The web roles answer /health on LINKFLOW_HTTP_PORT, worker/scheduler/consume on LINKFLOW_METRICS_PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "/app/deploy/docker/healthcheck.py"]
ENTRYPOINT ["linkflow"]
CMD ["up"]
