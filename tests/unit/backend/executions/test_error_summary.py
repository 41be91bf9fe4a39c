"""The execution list's error summary names the node once."""

from backend.executions.history import error_summary


def test_the_node_is_named_once():
    assert error_summary({"node": "Set", "message": "boom"}) == "node 'Set': boom"
    assert error_summary({"node": "Set", "message": "node 'Set': boom"}) == "node 'Set': boom"
    assert error_summary({"message": "boom"}) == "boom"
    assert error_summary(None) is None
