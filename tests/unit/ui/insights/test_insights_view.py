"""The Insights page's shaping of API answers: the period asked for, the cards and their tones, rows."""

from datetime import UTC, datetime

import pytest

from ui.executions import view as executions_view
from ui.insights import view

NOW = datetime(2026, 12, 5, 14, 37, 12, tzinfo=UTC)


def test_periods_are_whole_hours_or_utc_days_ending_with_the_current_one():
    assert view.query("24h", NOW) == {"since": "2026-12-04T15:00:00+00:00", "until": NOW.isoformat(),
                                      "granularity": "hour"}
    assert view.query("7d", NOW)["since"] == "2026-11-29T00:00:00+00:00"
    assert view.query("30d", NOW)["since"] == "2026-11-06T00:00:00+00:00"
    assert view.query("forever", NOW) == view.query("7d", NOW)


def test_cards_say_the_change_and_whether_it_is_good():
    summary = {"executions": 1200, "failure_rate": 0.05, "time_saved_minutes": 150, "average_ms": 1500,
               "p95_ms": 5000, "change": {"executions": 0.2, "failure_rate": 0.01, "time_saved_minutes": None,
                                          "average_ms": -0.5, "p95_ms": 0.0}}
    cards = {c["test_id"]: c for c in view.cards(summary)}
    assert (cards["total-executions"]["value"], cards["total-executions"]["change"],
            cards["total-executions"]["tone"]) == ("1,200", "+20 %", "green")
    assert (cards["total-failure-rate"]["value"], cards["total-failure-rate"]["change"],
            cards["total-failure-rate"]["tone"]) == ("5.0 %", "+1.0 pp", "red")
    assert (cards["total-time-saved"]["value"], cards["total-time-saved"]["change"]) == ("2.5 h", "")
    assert (cards["total-average"]["change"], cards["total-average"]["tone"]) == ("-50 %", "green")
    assert cards["total-p95"]["tone"] == "gray"
    empty = view.cards({"executions": 0, "failure_rate": 0.0, "time_saved_minutes": 0, "average_ms": None,
                        "p95_ms": None, "change": {}})
    assert [c["value"] for c in empty] == ["0", "0.0 %", "0 min", "—", "—"]


def test_minutes_read_like_time():
    assert [view.minutes(v) for v in (None, 0, 5, 2.5, 90, 60 * 72)] == [
        "0 min", "0 min", "5 min", "2.5 min", "1.5 h", "3.0 d"]


def test_rows_link_only_to_workflows_that_still_exist():
    rows = view.table_rows([
        {"workflow_id": "w1", "name": "Orders", "deleted": False, "executions": 1500, "failures": 3,
         "failure_rate": 0.002, "average_ms": 120, "p95_ms": 250.0, "minutes_per_run": 2.5,
         "time_saved_minutes": 3737.5},
        {"workflow_id": "w2", "name": None, "deleted": True, "executions": 1, "failures": 0, "failure_rate": 0,
         "average_ms": None, "p95_ms": None, "minutes_per_run": None, "time_saved_minutes": 0},
        {"workflow_id": None, "name": None, "deleted": False, "executions": 1, "failures": 1, "failure_rate": 1,
         "average_ms": 3, "p95_ms": 10.0, "minutes_per_run": None, "time_saved_minutes": 0}])
    assert rows[0]["linkable"] == "yes" and rows[0]["executions"] == "1,500" and rows[0]["time_saved"] == "2.6 d"
    assert rows[0]["minutes_per_run"] == "2.5" and rows[0]["p95"] == "250 ms"
    assert (rows[1]["name"], rows[1]["linkable"], rows[1]["time_saved"], rows[1]["p95"]) == (
        "deleted workflow", "", "not set", "—")
    assert rows[2]["name"] == "runs without a saved workflow" and rows[2]["workflow_id"] == ""


@pytest.mark.parametrize("text, minutes", [("", None), (" 5 ", 5.0), ("2,5", 2.5), ("0", 0.0)])
def test_the_time_saved_field_reads_minutes(text, minutes):
    assert view.parse_minutes(text) == minutes


@pytest.mark.parametrize("text, says", [("abc", "not a number"), ("-1", "between"), ("20000", "between"),
                                        ("nan", "between")])
def test_the_time_saved_field_says_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        view.parse_minutes(text)


def test_the_executions_dashboard_asks_the_rollups_for_whole_periods():
    assert executions_view.rollup_query("1h", NOW)["since"] == "2026-12-05T13:00:00+00:00"
    assert executions_view.rollup_query("24h", NOW)["granularity"] == "hour"
    assert executions_view.rollup_query("7d", NOW) == {"since": "2026-11-28T00:00:00+00:00",
                                                        "until": NOW.isoformat(), "granularity": "day"}
    (row,) = executions_view.rollup_chart_rows([{"period_start": "2026-12-05T00:00:00+00:00", "succeeded": 2,
                                                 "failed": 1, "p50_ms": 10.0, "p95_ms": 25.0}], "day")
    assert row == {"hour": "Dec 05", "succeeded": 2, "failed": 1, "p50": 10.0, "p95": 25.0}
    failing = executions_view.failing_workflows([{"workflow_id": "a", "name": "A", "failures": 2},
                                                 {"workflow_id": "b", "name": None, "failures": 1},
                                                 {"workflow_id": "c", "name": "C", "failures": 0}])
    assert failing == [{"workflow_id": "a", "count": 2, "name": "A"},
                       {"workflow_id": "b", "count": 1, "name": "deleted workflow"}]
    assert executions_view.failing_workflows([{"workflow_id": "a", "name": "A", "failures": 2}], "b") == []
    assert executions_view.failing_nodes([{"workflow_id": None, "workflow_name": None, "failed_node": "X",
                                           "failures": 4}]) == [
        {"workflow_id": "", "count": 4, "node_name": "X", "workflow_name": "run without a saved workflow"}]


def test_failure_rows_name_the_node_and_the_workflow():
    assert view.failure_rows([{"workflow_id": "w", "workflow_name": "Orders", "failed_node": "Reject",
                               "failures": 1200},
                              {"workflow_id": None, "workflow_name": None, "failed_node": None, "failures": 1}]) == [
        {"node": "Reject", "workflow": "Orders", "count": "1,200"},
        {"node": "no node named", "workflow": "runs without a saved workflow", "count": "1"}]
