"""One typed settings object for the whole process (env prefix ``LINKFLOW_``).

Every field has a default that works on one machine (the embedded mode). Nested
groups read flat variables: ``LINKFLOW_DATABASE_URL`` sets ``database.url``.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "linkflow-development-secret-change-me"
# 32 zero bytes, base64: fine for a laptop, refused in production.
DEV_VAULT_KEY = "dev:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class DatabaseSettings(BaseModel):
    url: str = ""  # empty: SQLite file under data_dir
    pool_size: int = 10
    echo: bool = False


class QueueSettings(BaseModel):
    backend: Literal["memory", "redis"] = "memory"
    worker_threads: int = 4
    # executions in flight per process (they interleave at their awaits: HTTP calls, code, sub-workflows)
    concurrency: int = Field(32, ge=1)
    lease_seconds: float = 30.0  # a crashed worker's execution is picked up again after this


class EventsSettings(BaseModel):
    backend: Literal["memory", "kafka"] = "memory"
    kafka_bootstrap: str = "127.0.0.1:9092"
    topic_prefix: str = ""
    replication_factor: int = Field(1, ge=1)  # of topics `linkflow kafka ensure-topics` creates
    ensure_topics: bool = True  # the relay creates or corrects the topics when it starts
    # `linkflow up`: the outbox relay and the consumers on the server's loop ("inline"), or in a process of their
    # own beside it ("process": the second core, ~90 MB more; executors/pipeline_process.py)
    pipeline: Literal["inline", "process"] = "inline"


class ExecutionsSettings(BaseModel):
    retention_days: int = Field(30, ge=0)  # finished executions older than this are deleted; 0 keeps them all
    outbox_retention_hours: int = Field(24, ge=0)  # published outbox events kept this long; 0 keeps them all
    # Attempts in a row whose worker stopped or crashed before recording an outcome; then it fails.
    max_attempts: int = Field(5, ge=1)


class CacheSettings(BaseModel):
    backend: Literal["memory", "redis"] = "memory"


class SearchSettings(BaseModel):
    """Global search and the executions page's text search (backend/search/)."""

    backend: Literal["sql", "elasticsearch"] = "sql"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    index_prefix: str = Field("linkflow", pattern=r"^[a-z0-9][a-z0-9_-]{0,40}$")  # index names start with it
    max_field_chars: int = Field(32_768, ge=1024, le=1_048_576)  # per indexed data field (trigger data, output)
    bulk_size: int = Field(500, ge=1, le=10_000)  # documents per bulk request
    timeout_s: float = Field(10.0, gt=0, le=300)  # per Elasticsearch request


class StorageSettings(BaseModel):
    """Binary data and large step data (backend/storage/): a local folder, or an S3 bucket."""

    backend: Literal["local", "s3"] = "local"
    path: str = ""  # empty: <data_dir>/files
    s3_bucket: str = "linkflow"
    s3_endpoint_url: str = ""  # empty: AWS; any S3-compatible server otherwise
    s3_region: str = "us-east-1"
    s3_prefix: str = ""  # every key goes under this (one bucket, several installations)
    s3_access_key_id: str = ""  # empty: boto3's own chain (environment, IRSA, instance profile)
    s3_secret_access_key: str = ""
    s3_sse: Literal["", "AES256", "aws:kms"] = ""  # server-side encryption asked for on every object
    s3_sse_kms_key_id: str = ""  # with aws:kms; empty: the bucket's default KMS key
    # Objects larger than this go up as a multipart upload, in parts of this size (S3's minimum part is 5 MiB).
    s3_multipart_threshold_bytes: int = Field(8 * 1024 * 1024, ge=5 * 1024 * 1024)
    inline_limit_bytes: int = 64 * 1024
    # A node's output on one port whose JSON is larger than this is spilled to storage and read back in batches.
    spill_threshold_bytes: int = Field(16 * 1024 * 1024, ge=64 * 1024)
    # Read/Write Files from Disk nodes reach only inside this folder; empty: the nodes are refused.
    disk_root: str = ""
    orphan_sweep: bool = True  # the maintenance loop removes objects whose execution is gone (after a day)


class BillingSettings(BaseModel):
    """Plans, quotas and Stripe (backend/billing/). ``free``: no limits, no Stripe, nothing in the UI nags."""

    backend: Literal["free", "stripe"] = "free"
    stripe_api_key: str = ""
    stripe_webhook_secret: str = ""  # the endpoint's signing secret (whsec_...)
    stripe_api_base: str = ""  # empty: Stripe itself; tests point it at stripe-mock
    stripe_meter_event: str = "linkflow_executions"  # event_name of the billing meter for overage
    webhook_grace_percent: int = Field(10, ge=0, le=1000)  # production webhooks run this far past the quota
    payment_grace_days: int = Field(7, ge=0)  # after a failed payment, then the team is moved to Free
    cache_seconds: float = Field(5.0, ge=0, le=300)  # how long a process trusts its copy of a team's plan and usage
    report_interval_seconds: float = Field(60.0, ge=1)  # overage is sent to Stripe this often
    webhook_tolerance_seconds: int = Field(300, ge=1)  # older Stripe signatures are refused (replays)


class MailSettings(BaseModel):
    smtp_host: str = ""  # empty: mails go to <data_dir>/outbox.jsonl
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    sender: str = "LinkFlow <linkflow@localhost>"


class NotificationsSettings(BaseModel):
    """Notification rules and channels (backend/notifications/): how long a channel may take to answer."""

    timeout_s: float = Field(10.0, gt=0, le=120)  # per Slack/Teams/webhook request; then retried with backoff
    keep_days: int = Field(7, ge=4)  # evaluated events and deliveries; longer than execution.events keeps events


class SecuritySettings(BaseModel):
    secret_key: str = DEV_SECRET
    vault_keys: str = DEV_VAULT_KEY  # "kid:base64key,kid2:base64key"; the first encrypts
    access_token_minutes: int = 15
    refresh_token_days: int = 30
    rate_limit_anonymous_per_minute: int = 100  # per client IP, on /api/v1 only
    rate_limit_authenticated_per_minute: int = 1000  # per API key or user
    # Per account (normalised email), from any IP: this many failed password/code checks lock it for
    # signin_lock_seconds, each further failure doubles the lock up to the max; a quiet window forgets them.
    signin_failures_before_lock: int = Field(5, ge=1)
    signin_failure_window_seconds: int = Field(900, ge=1)
    signin_lock_seconds: int = Field(60, ge=1)
    signin_lock_max_seconds: int = Field(900, ge=1)
    oauth_provider_name: str = ""  # shown on the login button, e.g. "Google"
    oauth_client_id: str = ""  # empty: OAuth2/OIDC login is off
    oauth_client_secret: str = ""
    oauth_server_metadata_url: str = ""  # OIDC discovery, e.g. https://accounts.google.com/.well-known/openid-configuration


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 3000
    public_url: str = ""  # empty: http://<host>:<port>
    webhook_url: str = ""  # empty: the public URL; another host splits webhooks from the UI (webhooks/origin.py)
    allow_private: bool = False
    allow_list: str = ""  # comma-separated hosts/CIDRs reachable despite allow_private=false
    webhook_body_limit_bytes: int = 16 * 1024 * 1024
    # Uploads (multipart, and bodies that are not JSON, form or text) go to storage through a temporary
    # file, never whole in memory, and may be this large (the larger of the two limits applies to them).
    webhook_file_limit_bytes: int = 16 * 1024 * 1024
    # Inline webhook runs and expression previews run on these threads, off the request loop
    # (backend/isolation.py); this many at once, the others wait up to inline_wait_s, then 503.
    inline_threads: int = Field(2, ge=1, le=64)
    inline_concurrency: int = Field(64, ge=1)
    inline_wait_s: float = Field(10.0, ge=0)
    # A webhook workflow whose inline runs take at most this much CPU on average (PROVEN_RUNS seen) runs on the request
    # loop itself, saving two thread hops (backend/isolation.py Placement); 0: every run goes to the lanes.
    inline_on_loop_ms: float = Field(2.0, ge=0, le=50)


class MetricsSettings(BaseModel):
    """The ops listener of the roles without HTTP (worker, scheduler, consume): /health, /ready, /metrics."""

    port: int = Field(0, ge=0, le=65535)  # 0: no listener (the Helm chart sets 9464)
    host: str = "127.0.0.1"


class TracingSettings(BaseModel):
    """OpenTelemetry traces over OTLP/HTTP; off unless enabled (backend/tracing.py)."""

    enabled: bool = False
    otlp_endpoint: str = "http://127.0.0.1:4318"  # the collector's OTLP/HTTP base URL (/v1/traces is added)
    service_name: str = "linkflow"  # each process adds its role: linkflow-api, linkflow-worker, ...
    sample_ratio: float = Field(1.0, ge=0.0, le=1.0)  # of new traces; a trace started upstream follows its parent


CodeSandboxMode = Literal["bwrap", "remote", "unsafe_process", "container"]


class CodeSettings(BaseModel):
    """Where the Code node runs user Python (see backend/sandbox/ and the README's security section)."""

    sandbox: CodeSandboxMode = "bwrap"  # remote: the code-runner role; container: only inside that role
    python: str = ""  # interpreter inside the sandbox; empty: a system python3 the sandbox user can read
    tmp_mb: int = Field(16, ge=1, le=1024)  # the run's private, size-limited /tmp
    allow_network: bool = False  # then only through a proxy that applies LINKFLOW_HTTP_ALLOW_*
    runner_url: str = ""  # LINKFLOW_CODE_SANDBOX=remote: the code-runner role, e.g. http://code-runner:8000
    runner_concurrency: int = Field(2, ge=1, le=256)  # code-runner role: runs at once; more wait
    runner_max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024)  # code-runner role: larger requests get 413


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINKFLOW_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    mode: Literal["local", "production"] = "local"
    data_dir: Path = Path("data")
    redis_url: str = ""  # used by queue/cache backends "redis"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    events: EventsSettings = Field(default_factory=EventsSettings)
    executions: ExecutionsSettings = Field(default_factory=ExecutionsSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    notifications: NotificationsSettings = Field(default_factory=NotificationsSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    code: CodeSettings = Field(default_factory=CodeSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        needs_redis = self.queue.backend == "redis" or self.cache.backend == "redis"
        if needs_redis and not self.redis_url:
            raise ValueError("LINKFLOW_REDIS_URL is required when the queue or cache backend is 'redis'")
        _check_code_settings(self.code)
        _check_billing_settings(self.billing)
        if self.mode == "production":
            self._refuse_development_secrets()
        return self

    def _refuse_development_secrets(self) -> None:
        problems = []
        if self.security.secret_key == DEV_SECRET or len(self.security.secret_key) < 32:
            problems.append("LINKFLOW_SECURITY_SECRET_KEY must be set to a random value of 32+ characters")
        if DEV_VAULT_KEY in self.security.vault_keys:
            problems.append("LINKFLOW_SECURITY_VAULT_KEYS must not contain the development key")
        if problems:
            raise ValueError("refusing to start in production mode: " + "; ".join(problems))

    @functools.cached_property
    def database_url(self) -> str:
        # Once per settings object: resolve() makes a system call per path component, and every
        # get_engine() (several per webhook request) reads this.
        return self.database.url or f"sqlite:///{(self.data_dir / 'linkflow.db').resolve()}"

    @property
    def storage_path(self) -> Path:
        return Path(self.storage.path) if self.storage.path else self.data_dir / "files"

    @property
    def public_url(self) -> str:
        return self.http.public_url.rstrip("/") or f"http://{self.http.host}:{self.http.port}"

    @property
    def webhook_url(self) -> str:
        """Where webhook callers reach /webhook, /webhook-test and /webhook-waiting."""
        return self.http.webhook_url.rstrip("/") or self.public_url


def _check_code_settings(code: CodeSettings) -> None:
    if code.sandbox == "remote" and not code.runner_url:
        raise ValueError("LINKFLOW_CODE_RUNNER_URL is required when LINKFLOW_CODE_SANDBOX=remote "
                         "(the URL of `linkflow serve --role code-runner`, e.g. http://code-runner:8000)")


def _check_billing_settings(billing: BillingSettings) -> None:
    if billing.backend == "stripe" and not (billing.stripe_api_key and billing.stripe_webhook_secret):
        raise ValueError("LINKFLOW_BILLING_BACKEND=stripe needs LINKFLOW_BILLING_STRIPE_API_KEY (sk_...) and "
                         "LINKFLOW_BILLING_STRIPE_WEBHOOK_SECRET (whsec_..., from the webhook endpoint in Stripe's "
                         "dashboard); see the README's Billing section")


class CodeRunnerSettings(BaseSettings):
    """The code-runner role's own settings: the same variables, but none of the groups that hold
    secrets (database, vault, tokens), so it can start in production without them."""

    model_config = Settings.model_config

    mode: Literal["local", "production"] = "local"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    http: HttpSettings = Field(default_factory=HttpSettings)  # host, port, and the egress address policy
    code: CodeSettings = Field(default_factory=CodeSettings)

    @model_validator(mode="after")
    def _check_mode(self) -> CodeRunnerSettings:
        if self.code.sandbox == "remote":
            raise ValueError("the code-runner role runs code itself: set LINKFLOW_CODE_SANDBOX=bwrap, or "
                             "container inside a locked-down pod (see the README's security section)")
        if self.code.sandbox == "container" and self.code.runner_concurrency > 1:
            raise ValueError("LINKFLOW_CODE_SANDBOX=container runs every job as the pod's one user, so "
                             "concurrent jobs could see each other: set LINKFLOW_CODE_RUNNER_CONCURRENCY=1 "
                             "and scale with replicas")
        return self


class _ReadOnce:
    """``get_settings()``: the process's settings, read from the environment on first use and kept.
    ``get_settings.cache_clear()`` makes the next call read the environment again.

    Reading holds a lock, and so does clearing. A thread that began reading before the environment changed
    (a test's setup, a command that points the process elsewhere) therefore stores what it read before the
    clear, and the clear removes it. With ``functools.cache`` such a thread stored its stale settings after
    the clear, over the fresh ones: a test's queries once went to ./data that way, from a background thread
    that read the settings between two tests.
    """

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Settings:
        settings = self._settings
        if settings is None:
            with self._lock:
                if self._settings is None:
                    self._settings = Settings()
                settings = self._settings
        return settings

    def cache_clear(self) -> None:
        with self._lock:
            self._settings = None


get_settings = _ReadOnce()
