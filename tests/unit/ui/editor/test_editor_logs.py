"""The logs panel's timeline and the executions tab's rows."""

from ui.editor import logs

STEPS = [
    {"node_id": "a", "node_name": "Start", "run_index": 0, "status": "succeeded", "output": {"main": [{}]},
     "error": None, "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:00.010+00:00",
     "duration_ms": 10},
    {"node_id": "b", "node_name": "Set", "run_index": 0, "status": "failed", "output": None,
     "error": {"message": "`$json.qty` is the text \"x\" in item 0; multiplying needs numbers", "item_index": 0},
     "started_at": "2026-01-01T00:00:00.030+00:00", "finished_at": "2026-01-01T00:00:00.040+00:00",
     "duration_ms": 10},
]


def test_the_timeline_has_start_duration_items_and_errors_on_one_axis():
    first, second = logs.timeline(STEPS)
    assert (first["name"], first["start"], first["duration"], first["items"]) == ("Start", "+0 ms", "10 ms", "1 item")
    assert (second["status"], second["start"], second["items"]) == ("failed", "+30 ms", "0 items")
    assert second["error"].endswith("multiplying needs numbers")  # the item is named once
    assert (first["bar_left"], first["bar_width"]) == ("0.0%", "25.0%")
    assert (second["bar_left"], second["bar_width"]) == ("75.0%", "25.0%")


def test_execution_rows_show_the_distinguishing_end_of_the_id():
    ids = ["019ae0f1a2b3c4d5e6f70000000000aa", "019ae0f1a2b3c4d5e6f70000000000bb"]
    rows = logs.execution_rows([{"id": i, "status": "succeeded", "mode": "manual", "duration_ms": 1500,
                                 "started_at": "2026-01-01T10:00:00+00:00", "error": None} for i in ids])
    assert [r["short_id"] for r in rows] == ["000000aa", "000000bb"]
    assert rows[0]["duration"] == "1.5 s" and rows[0]["started"] == "2026-01-01 10:00:00" and rows[0]["error"] == ""
