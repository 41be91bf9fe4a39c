from datetime import UTC, datetime, timedelta

import pytest

from nodes.builtin.wait import Wait
from nodes.sdk import NodeUserError, WaitRequested
from nodes.sdk.testing import FIXED_NOW, run_node

ITEMS = [{"json": {"a": 1}}]


async def test_duration_parks_until_now_plus_amount():
    with pytest.raises(WaitRequested) as info:
        await run_node(Wait, ITEMS, params={"mode": "duration", "amount": 90, "unit": "seconds"})
    assert info.value.resume_at == FIXED_NOW + timedelta(seconds=90)
    assert not info.value.on_webhook


async def test_until_with_and_without_offset():
    with pytest.raises(WaitRequested) as info:
        await run_node(Wait, ITEMS, params={"mode": "until", "until": "2026-02-01T09:00:00+01:00"})
    assert info.value.resume_at == datetime(2026, 2, 1, 8, tzinfo=UTC)
    with pytest.raises(WaitRequested) as info:
        await run_node(Wait, ITEMS, params={"mode": "until", "until": "2026-02-01T09:00:00"})
    assert info.value.resume_at == datetime(2026, 2, 1, 9, tzinfo=UTC)


async def test_a_time_in_the_past_does_not_wait():
    out = await run_node(Wait, ITEMS, params={"mode": "until", "until": "2020-01-01T00:00:00Z"})
    assert out["main"] == ITEMS


async def test_webhook_mode_waits_without_a_time():
    with pytest.raises(WaitRequested) as info:
        await run_node(Wait, ITEMS, params={"mode": "webhook"})
    assert info.value.resume_at is None and info.value.on_webhook


async def test_resumed_passes_items_with_the_resume_data():
    out = await run_node(Wait, ITEMS, params={"mode": "webhook"}, resume_data={"approved": True})
    assert out["main"] == [{"json": {"a": 1, "resume": {"approved": True}}}]
    assert (await run_node(Wait, ITEMS, params={}, resume_data={}))["main"] == ITEMS


async def test_until_mode_needs_a_date():
    with pytest.raises(NodeUserError, match="mode 'until' needs the until"):
        await run_node(Wait, ITEMS, params={"mode": "until"})
