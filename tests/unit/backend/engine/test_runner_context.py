"""What a node sees through its context: parameters with expressions, and the platform services."""

from __future__ import annotations

from engine_testkit import CALLS, chain, items, jsons, node, workflow

from backend.engine import plan as plan_module


async def test_expressions_see_the_item_the_input_and_earlier_nodes(harness):
    harness.services.variables = {"region": "eu"}
    definition = workflow(
        node("S", "start"), node("First", "tag", key="first", value="{{ $json.n * 10 }}"),
        node("Summary", "tag", key="summary",
             value="{{ $json.n }}/{{ len($input) }} {{ $node['First'].json.first }} "
                   "{{ $vars.region }} {{ $execution.id }} {{ $workflow.name }} {{ $now.isoformat() }}"),
        edges=chain("S", "First", "Summary"), timezone="Europe/Berlin")
    result = await harness.run(definition, items({"n": 1}, {"n": 2}))
    assert result.status == "succeeded", result.error
    assert [i["json"]["first"] for i in result.output] == [10, 20]
    assert result.output[1]["json"]["summary"] == "2/2 10 eu exec-1 test 2026-01-15T13:00:00+01:00"


async def test_a_failing_expression_names_node_parameter_and_reason(harness):
    definition = workflow(node("S", "start"), node("Broken", "tag", key="k", value="{{ $json.missing.deeper }}"),
                          edges=["S -> Broken"])
    result = await harness.run(definition, items({"n": 1}))
    assert result.status == "failed"
    message = result.error["message"]
    assert result.error["node"] == "Broken"
    assert message.startswith("node 'Broken': could not evaluate parameters.value: ")
    assert "`$json.missing` is missing in item 0, so it has no .deeper" in message
    assert message.count("item 0") == 1  # said once, not again as a suffix
    assert result.nodes["Broken"]["error"]["retryable"] is False


async def test_a_failing_expression_is_not_retried(harness):
    definition = workflow(node("S", "start"), node("Broken", "tag", key="k", value="{{ 1/0 }}",
                                                   settings={"retry": {"max_tries": 3}}),
                          edges=["S -> Broken"])
    result = await harness.run(definition)
    assert result.status == "failed" and CALLS["Broken"] == 1 and harness.sleep.waits == []


async def test_a_value_that_does_not_fit_after_evaluation_names_node_and_parameter(harness):
    definition = workflow(node("S", "start"), node("Count", "number", amount="{{ $json.word }}"),
                          edges=["S -> Count"])
    result = await harness.run(definition, items({"word": 3}, {"word": "three"}))
    assert result.status == "failed"
    assert result.error["item_index"] == 1
    assert result.error["message"].startswith("node 'Count': parameter 'amount': Input should be a valid integer")
    assert "'three'" in result.error["message"]


async def test_parameters_without_expressions_are_validated_once_per_definition(harness, monkeypatch):
    definition = workflow(node("S", "start"), node("T", "tag", key="k", value=1), edges=["S -> T"])
    await harness.run(definition, items(*({"n": n} for n in range(50))))
    validations = []
    real = plan_module._planned

    def counting(*args):
        validations.append(args[0].name)
        return real(*args)

    monkeypatch.setattr(plan_module, "_planned", counting)
    for _ in range(3):
        result = await harness.run(definition, items(*({"n": n} for n in range(50))))
    assert validations == []  # the compiled plan (and its validated parameters) was reused
    assert jsons(result.output)[49] == {"n": 49, "k": 1}


async def test_credentials_subworkflows_binary_response_and_clock(harness):
    asked = []

    async def credentials(credential_id, node_name):
        asked.append((credential_id, node_name))
        return {"key": "s3cret"}

    async def subworkflow(workflow_id, sub_items, parent_execution_id):
        return [{"json": {"workflow": workflow_id, "parent": parent_execution_id, "count": len(sub_items)}}]

    harness.services.credentials = credentials
    harness.services.run_subworkflow = subworkflow
    definition = workflow(node("S", "start"), {**node("Svc", "services"), "credentials": {"api": "cred-7"}},
                          edges=["S -> Svc"], timezone="America/New_York")
    result = await harness.run(definition)
    assert result.status == "succeeded", result.error
    assert asked == [("cred-7", "Svc")]
    assert result.output[0]["json"] == {
        "secret": {"key": "s3cret"},
        "child": [{"json": {"workflow": "child", "parent": "exec-1", "count": 1}}],
        "data": "hello", "now": "2026-01-15T07:00:00-05:00",
        "settings": {"http_allow_private": False, "http_allow_list": []}}
    assert result.response.status == 201 and result.response.body == {"ok": True}


async def test_without_a_vault_credentials_fail_with_a_clear_user_error(harness):
    definition = workflow(node("S", "start"), {**node("Svc", "services"), "credentials": {"api": "cred-7"}},
                          edges=["S -> Svc"])
    result = await harness.run(definition)
    assert result.status == "failed" and "credentials are not available" in result.error["message"]
    assert result.nodes["Svc"]["error"]["retryable"] is False


async def test_a_missing_credential_names_the_slot(harness):
    result = await harness.run(workflow(node("S", "start"), node("Svc", "services"), edges=["S -> Svc"]))
    assert result.error["message"].startswith("node 'Svc' has no credential chosen for 'api'")
