"""What the alerts and dashboards read (deploy/monitoring/): execution, step, queue, outbox, Kafka and pool.

Two kinds, by cost:

* counted as it happens, on the hot path: engine runs in progress, by outcome and duration, steps by
  node type and outcome and their duration, Kafka consumer lag. A label set's child is looked up
  once and cached, so a count is a lock and an add (about a microsecond).
* read when Prometheus scrapes: queue depth and age and the outbox backlog from the database (the
  source of truth; only the processes that call ``register_database_collector``: the api role and
  embedded mode), and each process's own connection pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from backend.observability import labelled

log = logging.getLogger("linkflow.metrics")

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

EXECUTIONS_IN_PROGRESS = Gauge("linkflow_executions_in_progress", "Engine runs in progress in this process")
EXECUTION_RUNS = Counter("linkflow_execution_runs_total",
                         "Engine runs by outcome (a wait, then its resume, are two runs)", ["status", "mode"])
EXECUTION_DURATION = Histogram("linkflow_execution_duration_seconds", "Duration of one engine run", ["mode"],
                               buckets=DURATION_BUCKETS)
STEPS = Counter("linkflow_steps_total", "Node runs by node type and outcome", ["node_type", "status"])
STEP_DURATION = Histogram("linkflow_step_duration_seconds", "Duration of one node run, retries included",
                          ["node_type"], buckets=DURATION_BUCKETS)
KAFKA_LAG = Gauge("linkflow_kafka_consumer_lag", "Records of a partition not yet consumed by the group",
                  ["group", "topic", "partition"])


def run_finished(mode: str, status: str, seconds: float) -> None:
    labelled(EXECUTION_RUNS, status, mode).inc()
    labelled(EXECUTION_DURATION, mode).observe(seconds)


def step_finished(node_type: str, status: str, started_at: datetime | None, finished_at: datetime | None) -> None:
    labelled(STEPS, node_type, status).inc()
    if started_at is not None and finished_at is not None:
        labelled(STEP_DURATION, node_type).observe((finished_at - started_at).total_seconds())


def consumer_lag(group: str, topic: str, partition: int, lag: int) -> None:
    labelled(KAFKA_LAG, group, topic, str(partition)).set(max(lag, 0))


class PoolCollector(Collector):
    """This process's database connections: in use, idle, and the pool's size (QueuePool only)."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The metric's name, for the registry: registering asks for it, and must not open the database."""
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from backend.db.session import get_engine

        pool = get_engine().pool
        family = self._family()
        if hasattr(pool, "checkedout"):
            family.add_metric(["in_use"], pool.checkedout())
            family.add_metric(["idle"], pool.checkedin())
            family.add_metric(["size"], pool.size())
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("linkflow_db_pool_connections", "Database connections of this process",
                                 labels=["state"])


class DatabaseCollector(Collector):
    """Queue depth and age, executions by status and the outbox backlog, read from the database."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            from backend.metrics_queries import read_backlog

            backlog = read_backlog()
        except Exception as exc:  # the database is away: /ready says so; the scrape still answers
            log.warning("database metrics not read", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        active = GaugeMetricFamily("linkflow_executions_active", "Executions queued, running or waiting",
                                   labels=["status"])
        for status, count in backlog.executions.items():
            active.add_metric([status], count)
        yield active
        yield _one("linkflow_queue_depth", "Queued executions no worker has started", backlog.queued)
        yield _one("linkflow_queue_oldest_age_seconds", "Age of the oldest queued execution",
                   backlog.oldest_queued_s)
        yield _one("linkflow_outbox_backlog", "Outbox events not yet published to the bus", backlog.outbox)
        yield _one("linkflow_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox event",
                   backlog.oldest_outbox_s)
        if backlog.redis is not None:
            messages = GaugeMetricFamily("linkflow_queue_messages", "Dramatiq messages in Redis",
                                         labels=["queue", "state"])
            for queue in backlog.redis:
                messages.add_metric([queue.name, "ready"], queue.ready)
                messages.add_metric([queue.name, "delayed"], queue.delayed)
                messages.add_metric([queue.name, "dead_lettered"], queue.dead_lettered)
            yield messages


def _one(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


_registered: set[str] = set()


def register_pool_collector() -> None:
    if "pool" not in _registered:
        REGISTRY.register(PoolCollector())
        _registered.add("pool")


def register_database_collector() -> None:
    """Only in one role (api; embedded): every pod reading the same rows would multiply the queries."""
    if "database" not in _registered:
        REGISTRY.register(DatabaseCollector())
        _registered.add("database")
