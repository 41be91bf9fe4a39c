"""How long to wait before retrying a node, from its ``settings.retry``."""

from __future__ import annotations

import random

from backend.engine.definition import RetrySettings


def retry_delay_s(policy: RetrySettings, failed_attempts: int, rng: random.Random) -> float:
    """Seconds to wait after the ``failed_attempts``-th failure (1-based).

    fixed: ``wait_ms`` every time; exponential: ``wait_ms * 2**(failed_attempts - 1)``.
    Both are capped by ``max_wait_ms``. Jitter then takes a random share of up to
    ``jitter`` (True: the whole wait) off, so many failing runs do not retry in step.

    >>> retry_delay_s(RetrySettings(wait_ms=100, backoff="exponential"), 3, random.Random(0))
    0.4
    """
    wait_ms = policy.wait_ms
    if policy.backoff == "exponential":
        wait_ms = wait_ms * 2 ** (failed_attempts - 1)
    if policy.max_wait_ms is not None:
        wait_ms = min(wait_ms, policy.max_wait_ms)
    fraction = policy.jitter_fraction
    if fraction:
        wait_ms -= wait_ms * fraction * rng.random()
    return wait_ms / 1000
