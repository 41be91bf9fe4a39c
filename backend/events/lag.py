"""Consumer lag per group for Prometheus: `linkflow_kafka_consumer_group_lag{group}`, the records a group has
not consumed yet, summed over its partitions, read from the broker (committed offsets against the
partitions' ends) when Prometheus scrapes.

The process that runs a consumer group exports its group's lag on its /metrics (`linkflow consume` on the
ops listener, `linkflow worker` for its command group). Unlike `linkflow_kafka_consumer_lag` (each
partition as the running consumer last saw it), this figure comes from the broker, so it keeps growing
while the group's consumers are stuck. A scrape asks the broker at most once per ``CACHE_S``; when the
broker does not answer within ``TIMEOUT_S`` the scrape answers without the gauge (and logs why).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from backend.settings import get_settings

log = logging.getLogger("linkflow.events.lag")
NAME = "linkflow_kafka_consumer_group_lag"
HELP = "Records not yet consumed by the consumer group, over all its partitions (from the broker)"
CACHE_S = 10.0
TIMEOUT_S = 5.0


class GroupLagCollector(Collector):
    def __init__(self, groups: Sequence[str], cache_s: float = CACHE_S) -> None:
        self.groups = list(groups)
        self._cache_s = cache_s
        self._lock = threading.Lock()
        self._read_at: float | None = None
        self._lags: dict[str, int] | None = None

    def describe(self) -> Iterator[GaugeMetricFamily]:  # registration must not ask the broker
        yield GaugeMetricFamily(NAME, HELP, labels=["group"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lags = self._current()
        if lags is None:
            return
        family = GaugeMetricFamily(NAME, HELP, labels=["group"])
        for group, lag in sorted(lags.items()):
            family.add_metric([group], lag)
        yield family

    def _current(self) -> dict[str, int] | None:
        with self._lock:  # concurrent scrapes share one broker round trip
            now = time.monotonic()
            if self._read_at is None or now - self._read_at >= self._cache_s:
                self._read_at = now
                try:
                    self._lags = asyncio.run(asyncio.wait_for(read_lags(self.groups), TIMEOUT_S))
                except Exception as exc:  # the broker is away: /ready says so; the scrape still answers
                    log.warning("consumer group lag not read", extra={"error": f"{type(exc).__name__}: {exc}"})
                    self._lags = None
            return self._lags


async def read_lags(groups: Sequence[str]) -> dict[str, int]:
    """The lag of each of `groups` (without the topic prefix) that has committed offsets (one that has not
    has no figure yet: the broker does not know what it will read)."""
    from backend.events.kafka_admin import group_status

    return {report.group: report.lag for report in await group_status(get_settings().events, groups)}


_registered: dict[str, GroupLagCollector] = {}


def export_group_lag(group: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Export `group`'s lag on this process's /metrics (Kafka only; several groups share one collector)."""
    if get_settings().events.backend != "kafka" or group in _registered:
        return
    collector = next(iter(_registered.values()), None)
    if collector is None:
        collector = GroupLagCollector([group])
        registry.register(collector)
    else:
        collector.groups.append(group)
    _registered[group] = collector
