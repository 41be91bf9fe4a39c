import pytest

from nodes.builtin.date_time import DateTime
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEM = [{"json": {"keep": 1}}]


async def result(params, items=ITEM):
    out = await run_node(DateTime, items, params=params)
    return out["main"][0]["json"][params.get("output_field", "date")]


async def test_now_keeps_other_fields():
    out = await run_node(DateTime, ITEM, params={"operation": "now"})
    assert out["main"] == [{"json": {"keep": 1, "date": "2026-01-15T12:00:00+00:00"}}]


async def test_now_in_another_time_zone():
    assert await result({"operation": "now", "timezone": "Asia/Tokyo"}) == "2026-01-15T21:00:00+09:00"


async def test_format():
    params = {"operation": "format", "value": "2026-03-04T05:06:07Z", "format": "%d.%m.%Y %H:%M"}
    assert await result(params) == "04.03.2026 05:06"


@pytest.mark.parametrize(("operation", "amount", "unit", "expected"), [
    ("add", 90, "minutes", "2026-01-31T13:30:00+00:00"),
    ("subtract", 1, "days", "2026-01-30T12:00:00+00:00"),
    ("add", 1, "months", "2026-02-28T12:00:00+00:00"),
    ("add", 1, "years", "2027-01-31T12:00:00+00:00"),
])
async def test_add_and_subtract(operation, amount, unit, expected):
    params = {"operation": operation, "value": "2026-01-31T12:00:00Z", "amount": amount, "unit": unit}
    assert await result(params) == expected


async def test_parse_with_pattern_iso_and_unix_seconds():
    assert await result({"operation": "parse", "value": "15.01.2026", "parse_format": "%d.%m.%Y"}) == (
        "2026-01-15T00:00:00+00:00")
    assert await result({"operation": "parse", "value": "2026-01-15 08:00"}) == "2026-01-15T08:00:00+00:00"
    assert await result({"operation": "parse", "value": 0}) == "1970-01-01T00:00:00+00:00"


async def test_diff_in_hours():
    params = {"operation": "diff", "value": "2026-01-15T00:00:00Z", "end": "2026-01-16T06:00:00Z",
              "unit": "hours", "output_field": "hours"}
    assert await result(params) == 30


async def test_unparseable_date_names_the_item():
    items = [{"json": {}}, {"json": {}}]
    with pytest.raises(NodeUserError, match="item 1: 'soon' is not a date") as info:
        await run_node(DateTime, items, params=[{"operation": "format", "value": v} for v in ("2026-01-01", "soon")])
    assert info.value.item_index == 1


async def test_validation_messages():
    with pytest.raises(NodeUserError, match="needs a value"):
        await run_node(DateTime, ITEM, params={"operation": "format"})
    with pytest.raises(NodeUserError, match="needs end"):
        await run_node(DateTime, ITEM, params={"operation": "diff", "value": "2026-01-01"})
    with pytest.raises(NodeUserError, match="unknown time zone"):
        await run_node(DateTime, ITEM, params={"timezone": "Nowhere/City"})
