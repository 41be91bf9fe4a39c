from __future__ import annotations

import pytest

from backend.storage import keys

TEAM, EXECUTION, BINARY = "team1", "a" * 32, "b" * 32


def test_everything_of_an_execution_is_under_its_team_and_execution():
    prefix = keys.execution_prefix(TEAM, EXECUTION)
    assert prefix == f"teams/{TEAM}/executions/{EXECUTION}"
    assert keys.binary_key(TEAM, EXECUTION, BINARY).startswith(prefix + "/binary/")
    assert keys.step_key(TEAM, EXECUTION, "Fetch orders", 2, "output") == f"{prefix}/steps/Fetch_orders.2.output.json"
    assert keys.owner_of(keys.binary_key(TEAM, EXECUTION, BINARY)) == (TEAM, EXECUTION)
    assert keys.owner_of("binary/ab/" + BINARY) is None
    assert keys.owner_of(f"teams/a.b/executions/{EXECUTION}/binary/{BINARY}") is None  # put there by hand


@pytest.mark.parametrize("bad", ["..", "a/b", "", "x" * 65, "../other"])
def test_ids_that_are_not_ids_are_refused(bad):
    with pytest.raises(ValueError):
        keys.team_prefix(bad)
    with pytest.raises(ValueError):
        keys.binary_key(TEAM, EXECUTION, bad)


def test_node_ids_are_made_safe_for_a_key():
    assert keys.step_key(TEAM, EXECUTION, "../../x", 0, "input").endswith("/steps/______x.0.input.json")
