"""Per-account sign-in throttling: failed password or code checks lock the account with back-off.

The per-IP rate limit (ratelimit.py) does not stop a guesser spread over many addresses, so
failures are also counted per account, keyed by the normalised email whether or not an
account has it (a lock must not tell who is registered). After `failures_before_lock`
failures the account is locked for `lock_seconds`; every further failure after a lock ends
locks it again for twice as long, up to `lock_max_seconds`. While locked nothing is checked:
a right password is refused like a wrong one, so the lock reveals nothing. A `window` with
no failure (after the last lock ended) forgets the count, and so does a completed sign-in.

The state lives in the cache port: in-process for the embedded mode, Redis when
LINKFLOW_CACHE_BACKEND=redis, so every API pod counts the same failures. If Redis is
unreachable the throttle lets attempts through (logged), like the rate limits: it protects
accounts, it must not take sign-in down.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis
from redis.exceptions import RedisError

from backend.auth.tokens import sha256
from backend.errors import UserError
from backend.settings import Settings

log = logging.getLogger("linkflow.throttle")
MEMORY_MAX_ACCOUNTS = 100_000  # an attacker spraying made-up emails must not grow the process forever


class AccountLocked(UserError):
    status_code = 429
    code = "account_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins for this account; try again in {retry_after} s",
                         {"retry_after": retry_after})
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Policy:
    failures_before_lock: int = 5
    window: float = 900.0
    lock: float = 60.0
    max_lock: float = 900.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        s = settings.security
        return cls(s.signin_failures_before_lock, s.signin_failure_window_seconds, s.signin_lock_seconds,
                   max(s.signin_lock_max_seconds, s.signin_lock_seconds))

    def lock_for(self, failures: int) -> float:
        """How long the `failures`-th failure in a row locks the account (0: not yet)."""
        beyond = failures - self.failures_before_lock
        return 0.0 if beyond < 0 else min(self.lock * 2.0 ** min(beyond, 32), self.max_lock)


@dataclass(frozen=True)
class Record:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0

    def forgotten(self, now: float, policy: Policy) -> bool:
        return now - max(self.last_failure, self.locked_until) > policy.window

    def after_failure(self, now: float, policy: Policy) -> Record:
        failures = 1 if self.forgotten(now, policy) else self.failures + 1
        lock = policy.lock_for(failures)
        return Record(failures, now, now + lock if lock else 0.0)

    def ttl(self, now: float, policy: Policy) -> float:
        """How long the record must be kept: until the window after its last failure or lock passes."""
        return max(self.last_failure, self.locked_until) + policy.window - now


class Store(Protocol):
    def get(self, key: str, now: float) -> Record: ...
    def update(self, key: str, change: Callable[[Record], Record], now: float, policy: Policy) -> Record: ...
    def delete(self, key: str) -> None: ...


class MemoryStore:
    """The embedded mode's store: one process, a lock around a dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[Record, float]] = {}  # key: (record, expires at)

    def get(self, key: str, now: float) -> Record:
        with self._lock:
            record, expires = self._records.get(key, (Record(), 0.0))
            return record if expires > now else Record()

    def update(self, key: str, change: Callable[[Record], Record], now: float, policy: Policy) -> Record:
        with self._lock:
            record, expires = self._records.pop(key, (Record(), 0.0))
            record = change(record if expires > now else Record())
            self._records[key] = (record, now + record.ttl(now, policy))  # re-inserted: the dict stays in age order
            self._prune(now)
            return record

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._records) <= MEMORY_MAX_ACCOUNTS:
            return
        self._records = {k: v for k, v in self._records.items() if v[1] > now}
        while len(self._records) > MEMORY_MAX_ACCOUNTS:  # still too many live ones: the oldest go first
            del self._records[next(iter(self._records))]


class RedisStore:
    """Shared by every API pod: one JSON value per account, changed under WATCH so pods never lose a count."""

    def __init__(self, url: str) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)

    @staticmethod
    def _key(key: str) -> str:
        return f"linkflow:signin:{key}"

    @staticmethod
    def _parse(raw: bytes | None) -> Record:
        if not raw:
            return Record()
        try:
            return Record(**json.loads(raw))
        except (TypeError, ValueError):
            return Record()

    def get(self, key: str, now: float) -> Record:
        return self._parse(self._client.get(self._key(key)))

    def update(self, key: str, change: Callable[[Record], Record], now: float, policy: Policy) -> Record:
        name = self._key(key)

        def attempt(pipe: redis.client.Pipeline) -> Record:
            record = change(self._parse(pipe.get(name)))
            pipe.multi()
            pipe.set(name, json.dumps(vars(record)), px=max(1, math.ceil(record.ttl(now, policy) * 1000)))
            return record

        return self._client.transaction(attempt, name, value_from_callable=True)

    def delete(self, key: str) -> None:
        self._client.delete(self._key(key))


@dataclass(frozen=True)
class Outcome:
    """What one recorded failure did: the failures in a row so far, and the lock it started (s; 0: none)."""

    failures: int
    locked_for: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.locked_for))


class SigninThrottle:
    """check() before a password or code is verified, failed() when it was wrong, succeeded() after a
    completed sign-in (or another check a user passed). `clock` is replaceable for tests."""

    def __init__(self, store: Store, policy: Policy, clock: Callable[[], float] = time.time) -> None:
        self.store, self.policy, self.clock = store, policy, clock
        self._last_warning = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SigninThrottle:
        store = RedisStore(settings.redis_url) if settings.cache.backend == "redis" else MemoryStore()
        return cls(store, Policy.from_settings(settings))

    @staticmethod
    def key(email: str) -> str:
        return sha256(email.strip().lower())[:40]  # no email addresses in the cache

    def check(self, email: str) -> None:
        """Raise AccountLocked (429 with Retry-After) while the account is locked."""
        now = self.clock()
        try:
            record = self.store.get(self.key(email), now)
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return
        if record.locked_until > now:
            raise AccountLocked(max(1, math.ceil(record.locked_until - now)))

    def failed(self, email: str) -> Outcome:
        now = self.clock()
        try:
            record = self.store.update(self.key(email), lambda r: r.after_failure(now, self.policy), now,
                                       self.policy)
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return Outcome(0, 0.0)
        return Outcome(record.failures, max(0.0, record.locked_until - now))

    def succeeded(self, email: str) -> None:
        try:
            self.store.delete(self.key(email))
        except (RedisError, OSError) as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if time.monotonic() - self._last_warning > 60:  # once a minute, not once a request
            self._last_warning = time.monotonic()
            log.warning("per-account sign-in throttling is not enforced: the cache failed: %s", exc)
