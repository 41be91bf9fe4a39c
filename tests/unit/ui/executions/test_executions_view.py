"""The executions pages' shaping of API answers: rows, chart rows, node badges, the data browser."""

from ui.executions import view

STEPS = [
    {"node_id": "t", "node_name": "Start", "run_index": 0, "status": "succeeded", "duration_ms": 3,
     "finished_at": "2026-11-27T10:00:00Z", "input": {}, "error": None,
     "output": {"main": [{"json": {"n": 1, "tags": ["a"]}}, {"json": {"n": 2, "extra": None}}]}},
    {"node_id": "l", "node_name": "Loop", "run_index": 0, "status": "succeeded", "duration_ms": 1500,
     "finished_at": "2026-11-27T10:00:01Z", "input": {"main": [{"json": {"n": 1}}]},
     "output": {"done": [{"json": {"n": 1}}], "loop": []}, "error": None},
    {"node_id": "l", "node_name": "Loop", "run_index": 1, "status": "failed", "duration_ms": 500,
     "finished_at": "2026-11-27T10:00:02Z", "input": {"main": [{"json": {"n": 2}}]}, "output": {},
     "error": {"message": "bad item", "item_index": 0, "type": "NodeError"}},
]


def test_durations_read_like_a_person_would_say_them():
    assert [view.duration(v) for v in (None, 0, 999, 1500, 61_000, 3_720_000)] == [
        "", "0 ms", "999 ms", "1.5 s", "1 min 1 s", "1 h 2 min"]


def test_list_rows_name_the_workflow_or_say_why_there_is_none():
    item = {"id": "abcdef1234", "status": "failed", "mode": "webhook", "workflow_id": "w", "workflow_name": None,
            "started_at": "2026-11-27T10:05:09+00:00", "duration_ms": 1200, "error": "node 'X': no"}
    row = view.list_row(item)
    assert row["workflow"] == "deleted workflow" and row["short_id"] == "cdef1234"  # the end tells time-ordered ids apart
    assert row["started"] == "Nov 27, 10:05:09" and row["duration"] == "1.2 s" and row["error"] == "node 'X': no"
    assert view.list_row({**item, "workflow_id": None})["workflow"] == "run without a saved workflow"
    assert view.list_row({**item, "workflow_name": "Orders"})["workflow"] == "Orders"


def test_chart_rows_carry_every_status_and_the_percentiles():
    hours = [{"hour": "2026-11-27T10:00:00Z", "counts": {"succeeded": 2, "failed": 1}, "p50_ms": 5, "p95_ms": 9}]
    (row,) = view.chart_rows(hours, "24h")
    assert row["hour"] == "10:00" and row["succeeded"] == 2 and row["failed"] == 1 and row["queued"] == 0
    assert (row["p50"], row["p95"]) == (5, 9)
    assert view.chart_rows(hours, "7d")[0]["hour"] == "Nov 27 10:00"


def test_node_badges_add_up_a_loops_runs_and_keep_the_last_status():
    runs = view.node_runs(STEPS)
    assert runs["t"] == {"status": "succeeded", "items": 2, "ms": 3, "timing": "3 ms", "error": ""}
    assert runs["l"]["status"] == "failed" and runs["l"]["items"] == 1 and runs["l"]["timing"] == "2.0 s"
    assert runs["l"]["error"] == "bad item"
    assert [r["name"] for r in view.step_rows(STEPS)] == ["Start", "Loop", "Loop (run 2)"]


def test_the_data_browser_shows_ports_items_as_table_rows_and_errors_without_traces():
    assert view.port_items(STEPS, "l", "input") == {"main": [{"json": {"n": 1}}, {"json": {"n": 2}}]}
    assert list(view.port_items(STEPS, "l", "output")) == ["done", "loop"]
    columns, rows = view.items_table(view.port_items(STEPS, "t", "output")["main"])
    assert columns == ["n", "tags", "extra"]
    assert rows == [["1", '["a"]', ""], ["2", "", ""]]
    assert view.items_table([{"json": {"long": "x" * 500}}])[1][0][0].endswith("…")
    assert view.error_text({"message": "bad item", "item_index": 0}) == "bad item (item 0)"
    assert view.error_text(None) == ""


def test_bulk_outcomes_become_one_toast():
    assert view.outcome_toast("Deleted", {"deleted": 2}, []) == ("success", "Deleted 2 executions")
    results = [{"outcome": "skipped", "reason": "execution x is running; cancel it before deleting it"}]
    kind, message = view.outcome_toast("Deleted", {"deleted": 1, "skipped": 1, "not_found": 1}, results)
    assert kind == "warning"
    assert message == ("Deleted 1 execution; 1 skipped (execution x is running; cancel it before deleting it); "
                       "1 not found")


def test_a_running_execution_shows_the_nodes_it_is_on():
    definition = {"nodes": [{"id": "t"}, {"id": "a"}, {"id": "b", "disabled": True}, {"id": "c"}],
                  "connections": [{"from": "t", "to": "a"}, {"from": "t", "to": "b"}, {"from": "a", "to": "c"}]}
    runs = view.mark_running(view.node_runs(STEPS[:1]), definition)
    assert runs["a"]["status"] == "running" and "b" not in runs and "c" not in runs
    assert runs["t"]["status"] == "succeeded"


def test_the_data_browser_lists_the_files_items_carry_and_finds_them_again():
    ref = {"id": "a" * 32, "execution_id": "e" * 32, "file_name": "scan.pdf", "mime_type": "application/pdf",
           "size": 1_572_864}
    items = [{"json": {}}, {"json": {}, "binary": {"scan": ref, "old": {"id": "b" * 32, "size": 3}}}, "not an item"]
    assert view.item_files(items) == [{"key": "1/scan", "item": "2", "name": "scan", "file_name": "scan.pdf",
                                       "mime_type": "application/pdf", "size": "1.5 MB", "preview": "pdf"}]
    images = [{"binary": {m: {**ref, "mime_type": m}}} for m in ("image/png", "image/svg+xml", "image/webp")]
    assert [f["preview"] for f in view.item_files(images)] == ["image", "", "image"]  # never an SVG document
    texts = ("text/csv", "application/json", "application/ld+json", "text/plain; charset=utf-8",
             "application/octet-stream", "text/html", "application/zip")
    assert [view.preview_kind(m) for m in texts] == ["text", "text", "text", "text", "", "text", ""]
    assert view.preview_note({"kind": "text", "text": "é" * 10, "truncated": True, "size": 5 << 20}) == (
        "The first 20 B of 5.0 MB")
    assert view.preview_note({"kind": "text", "text": "ab", "truncated": False, "size": 2}) == "The whole file (2 B)"
    assert view.preview_note({"kind": "pdf", "text": "x", "truncated": False, "size": 9, "pages": 3}) == (
        "The text of page 1 of 3")
    assert view.file_ref(items, "1/scan") == {"id": "a" * 32, "execution_id": "e" * 32, "file_name": "scan.pdf",
                                              "mime_type": "application/pdf"}
    for stale in ("5/scan", "1/nope", "x/scan", "2/scan", ""):
        assert view.file_ref(items, stale) is None
    assert [view.file_size(v) for v in (None, -1, 0, 2048, 5 << 30)] == ["", "", "0 B", "2.0 kB", "5.0 GB"]
