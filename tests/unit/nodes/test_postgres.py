"""The PostgreSQL node without a server: parameters, placeholders, statements (the server: tests/integration)."""

import pytest
from psycopg import sql
from pydantic import ValidationError

from nodes.builtin.postgres import PostgresParameters, _numbered, _statement
from nodes.sdk import NodeUserError


def test_dollar_placeholders_become_named_ones_and_percent_signs_stay_literal():
    text, used = _numbered("SELECT * FROM t WHERE a = $1 AND b LIKE '50%' AND c = $2 AND d = '$3' AND e % 2 = $1")
    assert text == "SELECT * FROM t WHERE a = %(1)s AND b LIKE '50%%' AND c = %(2)s AND d = '$3' AND e %% 2 = %(1)s"
    assert used == [1, 2, 1]


@pytest.mark.parametrize(("params", "message"), [
    ({"operation": "execute_query"}, "needs a query"),
    ({"operation": "insert"}, "needs a table"),
    ({"operation": "update", "table": "t"}, "needs match_columns"),
    ({"operation": "drop", "table": "t"}, "operation"),
])
def test_incomplete_parameters_are_refused(params, message):
    with pytest.raises(ValidationError, match=message):
        PostgresParameters(**params)


def test_identifiers_are_quoted_and_values_bound():
    params = PostgresParameters(operation="upsert", table='we"ird', match_columns=["id"])
    statement, values = _statement(params, {"id": 1, "name; DROP": "x"}, 0)
    text = statement.as_string(None) if isinstance(statement, sql.Composable) else statement
    assert text == ('INSERT INTO "public"."we""ird" ("id", "name; DROP") VALUES (%s, %s) ON CONFLICT ("id") '
                    'DO UPDATE SET "name; DROP" = EXCLUDED."name; DROP" RETURNING *')
    assert values == [1, "x"]


def test_a_missing_field_names_the_item():
    params = PostgresParameters(operation="delete", table="t", match_columns=["id"])
    with pytest.raises(NodeUserError, match="item 3 has no field 'id'"):
        _statement(params, {"name": "x"}, 3)
