"""Kill tests: the metering consumer and the overage reporter, real processes on PostgreSQL (and Kafka),
killed with SIGKILL in the middle of a batch, lose nothing and count or bill nothing twice.

Stripe is stripe-mock behind a recording proxy (stripe_proxy.py) that only passes requests on; it can
hold one until released, which is how the reporter is caught between Stripe receiving a meter event
and the report being marked sent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from backend.billing import stripe_events
from backend.billing.metering import meter_event
from backend.billing.models import MeterReport, UsageRecord
from backend.db import migrate
from backend.db.session import session_scope
from backend.events.bus import KafkaBus, create_bus
from backend.events.outbox import emit
from backend.events.relay import relay_once
from backend.executions import service as executions
from backend.users.service import create_user
from tests.unit.backend.billing.billing_testkit import (
    STRIPE_SETTINGS,
    checkout_completed,
    counted,
    event,
    link_customer,
    records,
    set_plan,
    sign,
)

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def team(email: str) -> str:
    with session_scope() as session:
        return create_user(session, email=email, password="a long enough password")[1].id


def linkflow(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "backend.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def environment(**settings: str) -> dict:
    env = {**os.environ, "LINKFLOW_LOG_FORMAT": "text"}
    env.update({f"LINKFLOW_{key}": value for key, value in settings.items()})
    return env


# ----------------------------------------------------------------------------------------- reporter

def subscribe_with_overage(team_id: str, customer: str) -> None:
    link_customer(team_id, customer)
    body = event("checkout.session.completed", checkout_completed(team_id, customer, subscription=f"sub_{customer}"))
    assert stripe_events.handle(body, sign(body)).status == "applied"


def test_the_reporter_killed_after_stripe_got_a_meter_event_bills_it_once(configure, postgres_url, stripe_proxy):
    settings = {**STRIPE_SETTINGS, "DATABASE_URL": postgres_url, "BILLING_STRIPE_API_BASE": stripe_proxy.url}
    configure(**settings)
    migrate.upgrade(postgres_url)
    set_plan("pro", executions_limit=2, stripe_price_monthly="price_pro", stripe_price_overage="price_overage")
    teams = {team("a@example.com"): "cus_a", team("b@example.com"): "cus_b"}
    for team_id, customer in teams.items():
        subscribe_with_overage(team_id, customer)
        for n in range(7):  # 5 overage executions each
            meter_event({"execution_id": f"{team_id[:8]}{n}", "team_id": team_id, "mode": "webhook"})

    stripe_proxy.hold("/v1/billing/meter_events")
    reporter = linkflow("billing", "report", env=environment(**settings))
    try:
        assert stripe_proxy.arrived.wait(60), "the reporter never called Stripe"
    finally:
        reporter.send_signal(signal.SIGKILL)  # Stripe has the first report's event; nothing was marked sent
        reporter.wait(timeout=30)
        stripe_proxy.release()  # the held request goes on to Stripe after the caller died
    with session_scope() as session:
        reports = list(session.scalars(select(MeterReport)))
    assert len(reports) == 2 and all(r.sent_at is None for r in reports), "both batched, neither marked sent"

    again = linkflow("billing", "report", env=environment(**settings))
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output

    calls = stripe_proxy.requests("/v1/billing/meter_events")
    identifiers = [c.form["identifier"] for c in calls]
    assert sorted(set(identifiers)) == sorted(r.id for r in reports)
    assert len(identifiers) == 3, "one report reached Stripe twice"
    assert all(c.idempotency_key == c.form["identifier"] for c in calls), "so Stripe counts it once"
    with session_scope() as session:
        sent = {r.id: (r.quantity, r.sent_at) for r in session.scalars(select(MeterReport))}
        unreported = session.scalar(select(func.count()).select_from(UsageRecord)
                                    .where(UsageRecord.overage.is_(True), UsageRecord.report_id.is_(None)))
    assert len(sent) == 2 and all(at is not None for _, at in sent.values())
    assert sorted(quantity for quantity, _ in sent.values()) == [5, 5] and unreported == 0


# ----------------------------------------------------------------------------------------- consumer

@pytest.fixture
async def kafka_billing(postgres_url, kafka_bootstrap, configure, stripe_mock_url):
    prefix = f"lftest-{uuid.uuid4().hex[:10]}."
    settings = {**STRIPE_SETTINGS, "BILLING_STRIPE_API_BASE": stripe_mock_url, "DATABASE_URL": postgres_url,
                "EVENTS_BACKEND": "kafka", "EVENTS_KAFKA_BOOTSTRAP": kafka_bootstrap, "EVENTS_TOPIC_PREFIX": prefix}
    configure(**settings)
    migrate.upgrade(postgres_url)
    bus = create_bus()
    assert isinstance(bus, KafkaBus)
    yield settings, bus
    await bus.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        if ours := [topic for topic in await admin.list_topics() if topic.startswith(prefix)]:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def run_executions(team_id: str, count: int) -> list[str]:
    """Executions with two events each (queued, and a succeeded one as a worker would add)."""
    ids = []
    with session_scope() as session:
        for _ in range(count):
            execution = executions.create_execution(session, team_id=team_id, definition={}, mode="webhook")
            emit(session, "execution.events", execution.id, {"type": "execution.succeeded",
                                                             "execution_id": execution.id, "team_id": team_id,
                                                             "mode": "webhook", "status": "succeeded"})
            ids.append(execution.id)
    return ids


async def committed(bootstrap: str, group: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sum(meta.offset for meta in (await admin.list_consumer_group_offsets(group)).values())
    finally:
        await admin.close()


def waiting_on_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                 "AND datname = current_database()").fetchone()[0])


async def test_the_metering_consumer_killed_mid_batch_loses_nothing_and_counts_nothing_twice(
        kafka_billing, kafka_bootstrap, postgres_url):
    settings, bus = kafka_billing
    busy, blocked = team("busy@example.com"), team("blocked@example.com")
    meter_event({"execution_id": "blocked-before", "team_id": blocked, "mode": "webhook"})  # its counter row
    run_executions(busy, 30)
    run_executions(blocked, 1)
    run_executions(busy, 30)
    published = 0
    while sent := await relay_once(bus):
        published += sent
    assert published == 2 * 61

    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    lock = psycopg.connect(dsn)  # holds the blocked team's counter: the consumer stops in the middle of a batch
    lock.execute("SELECT quantity FROM usage WHERE team_id = %s FOR UPDATE", (blocked,))
    consumer = linkflow("consume", "--service", "billing", env=environment(**settings))
    try:
        deadline = time.monotonic() + 90
        while not waiting_on_a_lock(dsn) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert waiting_on_a_lock(dsn), "the consumer never reached the blocked team's event"
        counted_at_kill = records(busy)
    finally:
        consumer.send_signal(signal.SIGKILL)  # also when the test failed: never leave it running
        consumer.wait(timeout=30)
        lock.rollback()
        lock.close()
    group = settings["EVENTS_TOPIC_PREFIX"] + "billing"
    assert counted_at_kill > 0 and await committed(kafka_bootstrap, group) < published, \
        "killed mid-batch: some events metered, their offsets not all committed"

    restarted = linkflow("consume", "--service", "billing", env=environment(**settings))
    try:
        deadline = time.monotonic() + 120
        while await committed(kafka_bootstrap, group) < published and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
        assert await committed(kafka_bootstrap, group) == published, "the restarted consumer did not catch up"
    finally:
        restarted.send_signal(signal.SIGTERM)
        output, _ = restarted.communicate(timeout=30)
    assert (records(busy), counted(busy)) == (60, 60), "every execution once: redelivered ones not again"
    assert (records(blocked), counted(blocked)) == (2, 2), "the event in flight at the kill was not lost"
    assert restarted.returncode == 0, output
