"""The MySQL node without a server: placeholders, quoting, parameters (the server: tests/integration)."""

import pytest
from pydantic import ValidationError

from nodes.builtin.mysql import MySqlParameters, _numbered, _statement
from nodes.sdk import NodeUserError


def test_dollar_placeholders_become_positional_ones_in_the_order_used():
    text, values = _numbered("SELECT $2, $1 FROM t WHERE a LIKE '5%' AND b = '$1' AND c = $2", ["one", "two"], 0)
    assert text == "SELECT %s, %s FROM t WHERE a LIKE '5%%' AND b = '$1' AND c = %s"
    assert values == ["two", "one", "two"]
    with pytest.raises(NodeUserError, match=r"uses \$3"):
        _numbered("SELECT $3", [1], 0)


def test_identifiers_are_quoted_and_objects_sent_as_json():
    params = MySqlParameters(operation="upsert", table="we`ird")
    statement, values = _statement(params, {"id": 1, "tags": ["a"]}, 0)
    assert statement == ("INSERT INTO `we``ird` (`id`, `tags`) VALUES (%s, %s) "
                         "ON DUPLICATE KEY UPDATE `id` = VALUES(`id`), `tags` = VALUES(`tags`)")
    assert values == [1, '["a"]']


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "execute_query"}, "needs a query"), ({"operation": "select"}, "needs a table"),
    ({"operation": "delete", "table": "t"}, "needs match_columns"),
])
def test_incomplete_parameters_are_refused(params, message):
    with pytest.raises(ValidationError, match=message):
        MySqlParameters(**params)
