"""Every execution is counted once per team and period from its events, whatever is redelivered;
owners hear at 80 % and 100 %, once each per period."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from auth_testkit import mails
from billing_testkit import counted, manual_flow, records, set_plan, webhook_flow
from sqlalchemy import select, update

from backend.billing.consumers import CONSUMER, billing_consumers
from backend.billing.metering import meter_event
from backend.billing.models import UsageRecord
from backend.db.session import session_scope
from backend.events.bus import InMemoryBus
from backend.events.consumers import registry, run_consumer
from backend.events.models import OutboxEvent
from backend.events.relay import relay_once
from backend.notifications.models import Notification

WORKFLOWS = "/api/v1/workflows"


def select_executions() -> list:
    from backend.executions.models import Execution

    with session_scope() as session:
        return list(session.scalars(select(Execution.id)))


async def relay_to_billing() -> int:
    """What `linkflow up` does: the outbox relay feeding the billing consumer on the in-process bus."""
    bus, stop = InMemoryBus({"billing": CONSUMER.topics}), asyncio.Event()
    consumer = asyncio.create_task(run_consumer(bus, CONSUMER, stop))
    try:
        total = 0
        while published := await relay_once(bus):
            total += published
        return total
    finally:
        stop.set()
        await consumer


def test_the_consumer_runs_only_while_billing_is_on(configure):
    configure(BILLING_BACKEND="free")
    assert billing_consumers() == () and "billing" not in registry()


async def test_redelivered_execution_events_are_counted_once(api, owner, create_workflow, inline_worker):
    workflow_id = create_workflow(owner, manual_flow())
    for _ in range(3):
        assert api.post(f"{WORKFLOWS}/{workflow_id}/run", json={}, headers=owner.headers).status_code == 202
    assert await relay_to_billing() == 3 * 4 + 1, ("per run: queued, succeeded, its trigger and its usage fact (no "
                                                   "node results: the in-process bus has no consumer of them, "
                                                   "events.outbox.nobody_reads); and the workflow's audit event")
    assert counted(owner.team_id) == 3 == records(owner.team_id)
    with session_scope() as session:  # the relay crashed before marking them: every event goes out again
        session.execute(update(OutboxEvent).values(published_at=None))
    assert await relay_to_billing() == 3 * 4 + 1
    assert counted(owner.team_id) == 3 == records(owner.team_id)


def test_sub_workflow_and_error_workflow_runs_are_part_of_the_run_that_started_them(owner):
    for mode in ("subworkflow", "error"):
        assert meter_event({"execution_id": f"x-{mode}", "team_id": owner.team_id, "mode": mode}) is None
    assert meter_event({"execution_id": "x-schedule", "team_id": owner.team_id, "mode": "schedule"}) is not None
    assert counted(owner.team_id) == 1


async def test_webhook_runs_that_save_nothing_are_still_metered(api, owner, create_workflow):
    workflow_id = create_workflow(owner, webhook_flow("quiet", respond="last_node", save_data="none"))
    assert api.post(f"{WORKFLOWS}/{workflow_id}/activate", headers=owner.headers).status_code == 200
    for n in range(4):
        assert api.post("/webhook/quiet", json={"n": n}).status_code == 200
    listed: list[str] = []
    for _ in range(100):  # written just after each answer, not before it
        with session_scope() as session:
            events = [e.payload for e in session.scalars(select(OutboxEvent).where(
                OutboxEvent.topic == "execution.events"))]
        listed = [run["execution_id"] for e in events for run in e["executions"]]
        if len(listed) == 4:
            break
        await asyncio.sleep(0.02)
    assert {e["type"] for e in events} == {"execution.unsaved"} and len(set(listed)) == 4
    assert not select_executions(), "nothing of the runs themselves was saved"
    await relay_to_billing()
    with session_scope() as session:  # delivered twice: still once each
        session.execute(update(OutboxEvent).values(published_at=None))
    await relay_to_billing()
    assert counted(owner.team_id) == 4 == records(owner.team_id)


def test_an_execution_is_counted_in_the_period_it_ran_in(owner):
    month_start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    late = (month_start - timedelta(hours=1)).isoformat()
    meter_event({"execution_id": "last-month", "team_id": owner.team_id, "mode": "webhook", "occurred_at": late})
    meter_event({"execution_id": "this-month", "team_id": owner.team_id, "mode": "webhook"})
    with session_scope() as session:
        periods = dict(session.execute(select(UsageRecord.execution_id, UsageRecord.period)).all())
    assert periods["last-month"] != periods["this-month"]
    assert periods["this-month"] == datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")


def test_owners_are_told_at_80_and_100_percent_once_each_per_period(api, owner, api_user):
    from backend.users.models import Role

    api_user("editor@example.com", team_id=owner.team_id, role=Role.EDITOR)
    set_plan(executions_limit=10)
    for n in range(12):
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})
    for n in range(12):  # every event delivered again
        meter_event({"execution_id": f"run{n}", "team_id": owner.team_id, "mode": "webhook"})
    with session_scope() as session:
        rows = session.execute(select(Notification.user_id, Notification.channel, Notification.kind,
                                      Notification.subject)).all()
    assert sorted((r.channel, r.kind) for r in rows) == [
        ("email", "billing.usage_100"), ("email", "billing.usage_80"),
        ("in_app", "billing.usage_100"), ("in_app", "billing.usage_80")]
    assert {r.user_id for r in rows} == {owner.user_id}, "owners only"
    sent = mails("owner@example.com")
    assert [m["subject"].split(": ", 1)[1] for m in sent] == [
        "80 % of this period's executions used", "100 % of this period's executions used"]
    assert "8 of the 10 executions" in sent[0]["body"] and "/settings/billing" in sent[0]["body"]
    inbox = api.get("/api/v1/notifications", headers=owner.headers).json()
    assert {i["payload"]["href"] for i in inbox["items"]} == {"/settings/billing"}


async def test_unsaved_runs_the_database_refused_are_written_with_the_next_ones(owner, monkeypatch):
    from backend.billing import unsaved

    real, calls = unsaved._write, []
    loop = asyncio.get_running_loop()

    def flaky(pending: list[dict]) -> None:
        calls.append(len(pending))
        if len(calls) == 1:
            # the fourth run arrives while the refused write is on its thread: queued on the loop before the
            # refusal's own callback, so it is waiting when the three are kept for the retry, whatever the timing
            loop.call_soon_threadsafe(unsaved.record_unsaved_run, owner.team_id, "unsaved3", None, "webhook",
                                      "succeeded")
            raise OSError("database away")
        real(pending)

    monkeypatch.setattr(unsaved, "_write", flaky)
    monkeypatch.setattr(unsaved, "RETRY_S", 0.05)
    for n in range(3):
        unsaved.record_unsaved_run(owner.team_id, f"unsaved{n}", None, "webhook", "succeeded")
    for _ in range(200):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)
    assert calls == [3, 4], "the refused three went again with the fourth"
    await relay_to_billing()
    assert counted(owner.team_id) == 4
