# LinkFlow — every command a developer or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUN_VERSION := 1.4.4
BUN := .tools/bin/bun
INFRA := deploy/local/infra.sh
# what `make test` starts (postgres and redis always come along; plain `make infra-up` starts only those);
# stripe is stripe-mock, built once into .tools/go and started beside the others; s3 is moto's S3 server
# (installed once into .tools/s3-venv); elasticsearch is a real ES 8.19 node from the Maven jars (.tools/elasticsearch-*);
# mariadb is Debian's mariadb-server, rabbitmq Debian's rabbitmq-server (infra.sh installs both with apt-get when
# missing); ssh is Debian's openssh-server's sshd; imap is Debian's dovecot-imapd (Dovecot 2.3 as a plain process
# with a private config; system-deps installs it)
INFRA_SERVICES ?= kafka stripe s3 elasticsearch mariadb ssh imap rabbitmq

export REFLEX_USE_SYSTEM_BUN := 1
export REFLEX_DIR := $(CURDIR)/.reflex-home
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export BUN_INSTALL_CACHE_DIR := $(CURDIR)/.tools/bun-cache
export BUN_RUNTIME_TRANSPILER_CACHE_PATH := $(CURDIR)/.tools/bun-transpiler
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(BIN):$(PATH)
comma := ,

.PHONY: help install run-local test test-unit test-integration test-e2e infra-up infra-down infra-status \
        db-migrate lint fmt build clean system-deps sandbox-deps deploy-tools deploy-tools-start deploy-check \
        kustomize-base docker-build docker-push k8s-deploy k8s-delete helm-install helm-upgrade helm-rollback \
        helm-uninstall logs compose-up compose-down backup restore

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

$(BUN):
	npm install --prefix .tools --no-audit --no-fund --loglevel=error bun@$(BUN_VERSION)
	@mkdir -p .tools/bin
	@for b in .tools/node_modules/bun/bin/bun.exe .tools/node_modules/@oven/bun-linux-x64/bin/bun; do \
	  if [ -x $$b ] && $$b --version >/dev/null 2>&1; then ln -sf $(CURDIR)/$$b $(BUN); break; fi; done
	@$(BUN) --version >/dev/null || { echo "bun $(BUN_VERSION) did not install from npm" >&2; exit 1; }

install: $(STAMP) $(BUN) ## create the venv, install Python deps and bun (idempotent)

system-deps: sandbox-deps ## install Debian packages the tests need (Chromium, bubblewrap, openssh-server, dovecot-imapd); PostgreSQL/Redis come with infra-up
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q chromium; }
	@command -v bwrap >/dev/null || { echo "make: bubblewrap is required for the tests (apt-get install bubblewrap)" >&2; exit 1; }
	@test -x /usr/sbin/sshd || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q openssh-server; }
	@command -v dovecot >/dev/null || test -x /usr/sbin/dovecot || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -q dovecot-imapd; }

# The Code node's sandbox: bubblewrap, and a python3 the sandbox user can read (Debian's). As root
# apt-get directly, else through sudo if there is one; if neither works, say so and go on: a Code
# node then fails with a message naming what to install, it never runs unsandboxed.
SANDBOX_PACKAGES = $$(command -v bwrap >/dev/null || echo bubblewrap) \
                   $$(test -x /usr/bin/python3 -o -x /usr/local/bin/python3 || echo python3)
sandbox-deps: ## install bubblewrap (the Code node's sandbox) from Debian if it is missing
	@packages="$(SANDBOX_PACKAGES)"; packages=$$(echo $$packages); [ -z "$$packages" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; \
	else echo "make: cannot install $$packages (not root, no sudo); Code nodes will not run until it is" >&2; exit 0; fi; \
	{ $$sudo apt-get update -q && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$packages; } || \
	echo "make: installing $$packages failed; Code nodes will not run until it is installed" >&2

run-local: install sandbox-deps ## install what is needed and run LinkFlow embedded (SQLite, in-process queue)
	$(BIN)/linkflow up

build: install ## build the UI bundle (Reflex prod export)
	cd $(CURDIR) && REFLEX_API_URL=$${REFLEX_API_URL:-http://127.0.0.1:3000} $(BIN)/reflex export --frontend-only --no-zip

infra-up: ## start PostgreSQL and Redis on 127.0.0.1 (data in .infra/)
	bash $(INFRA) up
infra-down: ## stop the services infra-up started
	bash $(INFRA) down
infra-status: ## show whether the services are running
	bash $(INFRA) status

db-migrate: install ## apply migrations to the configured database (LINKFLOW_DATABASE_URL or ./data)
	$(BIN)/linkflow db upgrade

lint: install ## ruff and the import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/lint-imports

fmt: install ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: deploy-tools-start install system-deps ## everything: lint, unit, integration, browser tests, deploy-check
	bash $(INFRA) up $(INFRA_SERVICES)
	$(MAKE) lint
	$(MAKE) test-unit
	$(MAKE) test-integration
	$(MAKE) test-e2e
	$(MAKE) deploy-check

UNIT_WORKERS ?= auto
test-unit: install ## fast tests, no services (on every core; UNIT_WORKERS=0 runs them in one process)
	$(BIN)/pytest -q -n $(UNIT_WORKERS) tests/unit tests/workflows

INTEGRATION_WORKERS ?= 0
test-integration: install ## tests against real PostgreSQL/Redis/Kafka/stripe-mock/S3/Elasticsearch/MariaDB/sshd/Dovecot/RabbitMQ (bash deploy/local/infra.sh up kafka stripe s3 elasticsearch mariadb ssh imap rabbitmq first), serially (INTEGRATION_WORKERS=2: on two pytest-xdist workers)
	eval "$$(bash $(INFRA) env)" && $(BIN)/pytest -q -n $(INTEGRATION_WORKERS) tests/integration

test-e2e: install system-deps ## Playwright in Debian Chromium against a running app (billing: stripe-mock up; SSH credential: sshd up; Redis Trigger status: redis up)
	eval "$$(bash $(INFRA) env redis stripe ssh)" && $(BIN)/pytest -q tests/e2e --screenshot only-on-failure --output test-results

# ---- deployment (deploy/; the README's "Operations" section maps the ops guide's commands here) -------
DEPLOY_TOOLS := deploy/check/tools.sh
HELM := $(firstword $(wildcard $(CURDIR)/.tools/go/bin/helm) helm)
ENV ?= dev
NAMESPACE ?= $(if $(filter prod,$(ENV)),linkflow,linkflow-$(ENV))
RELEASE ?= linkflow
IMAGE ?= linkflow/linkflow
TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
REVISION ?=
ROLE ?=
BACKUP_TO ?= ./backups

deploy-tools: ## build helm, promtool, kubeconform (Go) and install checkov, schemas, CRD validators into .tools/
	bash $(DEPLOY_TOOLS) build
deploy-tools-start: ## the same in the background (make test starts it first and waits in deploy-check)
	bash $(DEPLOY_TOOLS) start

deploy-check: install ## prove the manifests offline: lint, schemas, security scan, alerts, smoke, backup, tracing
	bash $(DEPLOY_TOOLS) wait
	@if [ -z "$$LINKFLOW_TEST_POSTGRES_URL" ]; then bash $(INFRA) up kafka; fi
	if [ -z "$$LINKFLOW_TEST_POSTGRES_URL" ]; then eval "$$(bash $(INFRA) env)"; fi; \
	  export LINKFLOW_TEST_REDIS_URL="$${LINKFLOW_TEST_REDIS_URL%/*}/6"; \
	  $(BIN)/pytest -q tests/deploy

kustomize-base: ## re-render deploy/kustomize/base/linkflow.yaml from the Helm chart
	$(BIN)/python deploy/check/render.py base

docker-build: ## build the one image of every role: IMAGE=registry/linkflow/linkflow TAG=0.1.0
	docker build -t $(IMAGE):$(TAG) .
docker-push: ## push it
	docker push $(IMAGE):$(TAG)

k8s-deploy: ## kubectl apply -k the overlay of ENV=dev|staging|prod (migrations run as a Job first)
	kubectl -n $(NAMESPACE) delete job linkflow-migrations-1 --ignore-not-found
	kubectl apply -k deploy/kustomize/overlays/$(ENV)
	kubectl -n $(NAMESPACE) wait --for=condition=complete job/linkflow-migrations-1 --timeout=600s
k8s-delete: ## kubectl delete -k the overlay of ENV
	kubectl delete -k deploy/kustomize/overlays/$(ENV)

helm-install: ## helm install the chart with values-$(ENV).yaml into NAMESPACE
	$(HELM) install $(RELEASE) deploy/helm/linkflow --namespace $(NAMESPACE) --create-namespace \
	  -f deploy/helm/linkflow/values.yaml -f deploy/helm/linkflow/values-$(ENV).yaml
helm-upgrade: ## helm upgrade (TAG= sets the image tag)
	$(HELM) upgrade $(RELEASE) deploy/helm/linkflow --namespace $(NAMESPACE) \
	  -f deploy/helm/linkflow/values.yaml -f deploy/helm/linkflow/values-$(ENV).yaml --set image.tag=$(TAG)
helm-rollback: ## helm rollback to REVISION (empty: the previous one)
	$(HELM) rollback $(RELEASE) $(REVISION) --namespace $(NAMESPACE)
helm-uninstall: ## helm uninstall
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE)

logs: ## follow the logs of every role (ROLE=worker for one), JSON lines
	kubectl logs -n $(NAMESPACE) -l app.kubernetes.io/name=linkflow$(if $(ROLE),$(comma)app.kubernetes.io/component=$(ROLE)) \
	  -f --prefix --max-log-requests 50 --tail 100

compose-up: ## the single-host path: every role plus PostgreSQL, Redis, Kafka, Elasticsearch, S3 (docker compose)
	docker compose -p linkflow -f deploy/compose/compose.yaml --env-file deploy/compose/.env up -d --build
compose-down: ## stop it (volumes kept)
	docker compose -p linkflow -f deploy/compose/compose.yaml --env-file deploy/compose/.env down

backup: ## pg_dump of LINKFLOW_DATABASE_URL into BACKUP_TO (a folder or s3://bucket/prefix)
	$(BIN)/python deploy/backup/backup.py postgres --to $(BACKUP_TO)
restore: ## restore the newest dump under BACKUP_TO into LINKFLOW_DATABASE_URL (scale the roles to 0 first)
	$(BIN)/python deploy/backup/backup.py restore-postgres --from latest --store $(BACKUP_TO)

clean: ## remove build output, caches and local data (keeps .infra; see infra-down)
	rm -rf .web .web-e2e-billing .web-lifecycle .web-lifecycle-killed .web-lifecycle.lock .states .reflex-home data .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
