"""A listener trigger's status as the node panel shows it: badge, messages, last message, error in words."""

from datetime import UTC, datetime

from ui.editor.listeners import ago, error_text, listener_view

NOW = datetime(2026, 12, 5, 20, 0, 0, tzinfo=UTC)


def _row(**changes) -> dict:
    return {"node_id": "redis", "node_type": "redis_trigger", "status": "listening", "error": None,
            "detail": "subscribed to orders on Redis 10.0.0.5:6379", "messages": 0, "last_message_at": None,
            "updated_at": "2026-12-05T19:59:00", **changes}


def test_a_listening_trigger_shows_its_messages_and_when_the_last_came():
    view = listener_view(_row(messages=1234, last_message_at="2026-12-05T19:57:30+00:00"), active=True, now=NOW)
    assert (view["status"], view["label"], view["color"]) == ("listening", "Listening", "green")
    assert view["messages"] == "1,234 messages"
    assert view["last_message"] == "2 min ago (2026-12-05 19:57:30 UTC)"
    assert view["detail"] == "subscribed to orders on Redis 10.0.0.5:6379"
    assert view["error"] == view["hint"] == ""


def test_one_message_is_singular_and_none_says_so():
    assert listener_view(_row(messages=1), active=True, now=NOW)["messages"] == "1 message"
    view = listener_view(_row(), active=True, now=NOW)
    assert (view["messages"], view["last_message"]) == ("No messages yet", "")


def test_a_naive_timestamp_is_read_as_utc():  # SQLite hands back datetimes without a zone
    view = listener_view(_row(messages=2, last_message_at="2026-12-05T17:00:00"), active=True, now=NOW)
    assert view["last_message"] == "3 h ago (2026-12-05 17:00:00 UTC)"


def test_an_error_says_what_failed_that_it_is_retried_and_what_to_do():
    view = listener_view(_row(status="error", messages=3, detail="subscribed to orders on Redis 10.0.0.5:6379",
                              error="ConnectionError: Error 111 connecting to 10.0.0.5:6379. Connection refused. "
                                    "(retrying in 30s)"), active=True, now=NOW)
    assert (view["label"], view["color"], view["messages"]) == ("Error", "red", "3 messages")
    assert view["error"] == ("Not listening: Error 111 connecting to 10.0.0.5:6379. Connection refused. "
                             "LinkFlow tries again in 30 s by itself. Check the node's credential and parameters; "
                             "after a change, publish the workflow to restart the listener.")
    assert view["detail"] == ""  # the last "subscribed to" line is stale while it fails


def test_an_error_without_a_retry_or_message_still_reads_as_a_sentence():
    assert error_text("the workflow's active version changed").startswith(
        "Not listening: the workflow's active version changed. Check the node's")
    assert error_text("") == ""
    assert error_text(" (retrying in 1s)").startswith("Not listening: the listener failed without a message. "
                                                     "LinkFlow tries again in 1 s by itself.")


def test_starting_stopped_and_not_active():
    starting = listener_view(_row(status="starting"), active=True, now=NOW)
    assert (starting["label"], starting["color"]) == ("Starting", "amber")
    stopped = listener_view(None, active=True, now=NOW)  # active workflow, but no listener for this node
    assert (stopped["status"], stopped["label"]) == ("stopped", "Stopped")
    assert "publish the workflow" in stopped["hint"]
    inactive = listener_view(_row(messages=9, last_message_at="2026-12-05T19:00:00"), active=False, now=NOW)
    assert (inactive["status"], inactive["label"], inactive["color"]) == ("not_active", "Not active", "gray")
    assert (inactive["messages"], inactive["last_message"]) == ("No messages yet", "")
    assert inactive["hint"].startswith("Activating the workflow starts listening")


def test_an_unknown_status_shows_as_starting_not_as_a_crash():
    assert listener_view(_row(status="rebalancing"), active=True, now=NOW)["label"] == "Starting"


def test_ago_rounds_to_the_largest_unit():
    at = datetime(2026, 12, 5, 20, 0, 0, tzinfo=UTC)
    assert [ago(at, at.replace(second=s)) for s in (2, 42)] == ["just now", "42 s ago"]
    assert ago(datetime(2026, 12, 1, 8, tzinfo=UTC), NOW) == "4 d ago"
    assert ago(datetime(2026, 12, 5, 20, 0, 9, tzinfo=UTC), NOW) == "just now"  # a clock slightly ahead
