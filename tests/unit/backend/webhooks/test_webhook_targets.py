"""What is prepared once per workflow version, and how paths match (no database)."""

from __future__ import annotations

import pytest
from webhook_testkit import flow, hook, node

from backend.engine.plan import compile_plan
from backend.webhooks.paths import Pattern, is_pattern, normalise, shape
from backend.webhooks.persist import JsonOnce, dumps
from backend.webhooks.targets import DEFAULT_TIMEOUT_S, compile_target
from nodes.sdk import default_registry


def test_a_target_is_compiled_once_and_found_again_by_identity():
    target = compile_target(flow(hook("a"), node("s", "Set", "set", 1, fields=[{"name": "x", "value": 1}])))
    plan = compile_plan(target.runnable, default_registry())
    assert plan.definition is target.runnable  # no re-serialising on the hot path
    assert compile_plan(target.runnable, default_registry()) is plan


def test_the_response_timeout_defaults_but_the_saved_definition_is_untouched():
    definition = flow(hook("a"))
    target = compile_target(definition)
    assert target.timeout_s == DEFAULT_TIMEOUT_S
    assert target.runnable.settings.timeout_s == DEFAULT_TIMEOUT_S
    assert definition["settings"] == {} and target.definition is definition
    assert compile_target(flow(hook("a"), settings={"timeout_s": 2.5})).timeout_s == 2.5


def test_only_definitions_that_read_vars_are_scanned_for_them():
    assert compile_target(flow(hook("a"))).vars_probe == {}
    reads = flow(hook("a"), node("s", "Set", "set", 1, fields=[{"name": "x", "value": "{{ $vars.k }}"}]))
    assert compile_target(reads).vars_probe is reads


def test_triggers_are_parsed_once_and_disabled_ones_skipped():
    off = {**hook("b"), "id": "off", "name": "Off", "disabled": True}
    target = compile_target(flow(hook("a", method="GET", respond="respond_node"), off))
    assert list(target.triggers) == ["hook"]
    assert (target.triggers["hook"].method, target.triggers["hook"].respond) == ("GET", "respond_node")


@pytest.mark.parametrize(("pattern", "path", "params"), [
    ("users/:id", "users/42", {"id": "42"}),
    ("users/:id/orders/:order", "users/7/orders/x-1", {"id": "7", "order": "x-1"}),
    ("users/:id", "users/42/more", None),
    ("users/:id", "users/", None),
    ("Users/:id", "users/1", None),  # paths keep their case
])
def test_patterns(pattern, path, params):
    assert Pattern.of(pattern).match(path.split("/")) == params


def test_path_helpers():
    assert normalise(" /orders/new/ ") == "orders/new"
    assert is_pattern("a/:b") and not is_pattern("a/b:c") and not is_pattern("a/:")
    assert shape("users/:id/x") == shape("users/:name/x") == "users/:/x"


@pytest.mark.parametrize("value", [
    [{"json": {"a": 1, "b": [1, {"c": None}]}}], {"main": [{"json": {"x": "ü"}}], "error": []},
    {"main": [], "n": 1}, {"a": {"b": 1}}, None, [], {},
])
def test_json_once_writes_what_json_dumps_writes(value):
    encode = JsonOnce()
    assert encode(value) == dumps(value)
    assert encode(value) == dumps(value)  # and again from the memo
