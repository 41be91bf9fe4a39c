import io
import json

import pytest

from nodes.builtin import convert_to_file
from nodes.builtin.convert_to_file import ConvertToFile
from nodes.builtin.extract_from_file import ExtractFromFile
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context

ITEMS = [{"json": {"name": "Ada", "qty": 2}}, {"json": {"name": "Bob, Jr.", "tags": ["a", "b"]}}]


async def convert(items, **params):
    ctx = FakeContext(ConvertToFile, params)
    out = await run_context(ConvertToFile, ctx, items)
    return out["main"], ctx


def file_of(item, ctx, prop="data"):
    ref = item["binary"][prop]
    return ref, ctx.binaries[ref["id"]]


async def test_csv_columns_in_first_seen_order_with_nested_values_as_json():
    [item], ctx = await convert(ITEMS, operation="csv", file_name="out.csv")
    ref, data = file_of(item, ctx)
    assert data.decode() == 'name,qty,tags\r\nAda,2,\r\n"Bob, Jr.",,"[""a"", ""b""]"\r\n'
    assert ref["file_name"] == "out.csv" and ref["mime_type"] == "text/csv" and item["json"] == {}


async def test_csv_round_trips_through_extract():
    [item], ctx = await convert(ITEMS, operation="csv", delimiter=";")
    back = FakeContext(ExtractFromFile, {})
    back.binaries = ctx.binaries
    out = await run_context(ExtractFromFile, back, [item])
    assert [i["json"]["name"] for i in out["main"]] == ["Ada", "Bob, Jr."]


async def test_json_and_ndjson():
    [item], ctx = await convert(ITEMS, operation="json")
    assert json.loads(file_of(item, ctx)[1]) == [i["json"] for i in ITEMS]
    [item], ctx = await convert(ITEMS, operation="ndjson")
    assert [json.loads(line) for line in file_of(item, ctx)[1].splitlines()] == [i["json"] for i in ITEMS]


async def test_text_makes_one_file_per_item_from_a_field():
    items = [{"json": {"body": "hello"}}, {"json": {"body": {"a": 1}}}]
    out, ctx = await convert(items, operation="text", source_field="body", encoding="latin-1")
    assert [file_of(i, ctx)[1] for i in out] == [b"hello", b'{"a": 1}']
    assert out[0]["json"] == {"body": "hello"}
    with pytest.raises(NodeUserError, match="no field 'body'"):
        await convert([{"json": {}}], operation="text", source_field="body")


async def test_xlsx_keeps_text_that_looks_like_a_formula_as_text():
    from openpyxl import load_workbook

    items = [{"json": {"a": "=HYPERLINK(\"http://evil\")", "b": 1.5, "c": {"x": 1}}}]
    [item], ctx = await convert(items, operation="xlsx", sheet_name="Data")
    sheet = load_workbook(io.BytesIO(file_of(item, ctx)[1]))["Data"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["a", "b", "c"], ['=HYPERLINK("http://evil")', 1.5, '{"x": 1}']]
    assert sheet["A2"].data_type == "s"  # stored as a string, not a formula Excel would run


async def test_values_that_cannot_be_written_are_user_errors(monkeypatch):
    with pytest.raises(NodeUserError, match="cannot be written in latin-1"):
        await convert([{"json": {"a": "日本"}}], operation="csv", encoding="latin-1")
    with pytest.raises(NodeUserError, match="control character"):
        await convert([{"json": {"a": "bell\x07"}}], operation="xlsx")
    monkeypatch.setattr(convert_to_file, "MAX_FILE_BYTES", 100)
    with pytest.raises(NodeUserError, match="at most 100 are written"):
        await convert([{"json": {"a": "x" * 200}}], operation="json")


async def test_no_items_no_file():
    assert (await convert([], operation="csv"))[0] == []


# -- a large (spilled) input: read batch by batch, the file written in chunks -----------------------------------

def spilled(items):
    from backend.engine.items import ItemCollector, TempFileSpill

    collector = ItemCollector(TempFileSpill(), 0)
    for start in range(0, len(items), 1000):
        collector.add(items[start:start + 1000])
    return collector.finish()


@pytest.mark.parametrize("operation", ["csv", "ndjson", "json"])
async def test_a_streamed_input_makes_the_file_a_list_makes(operation):
    items = [*ITEMS, *({"json": {"n": n, "late": n == 2400 or None}} for n in range(2500))]
    stream = spilled(items)
    assert not isinstance(stream, list)
    as_list, list_ctx = await convert(items, operation=operation)
    ctx = FakeContext(ConvertToFile, {"operation": operation})
    [item] = await ConvertToFile().execute(ctx, stream)
    assert file_of(item, ctx)[1] == file_of(as_list[0], list_ctx)[1]  # byte for byte
    assert ctx.streamed == (["data." + operation] if operation != "json" else [])  # csv, ndjson: from a file


async def test_a_streamed_input_in_an_encoding_that_cannot_hold_a_value_is_a_user_error():
    ctx = FakeContext(ConvertToFile, {"operation": "csv", "encoding": "latin-1"})
    with pytest.raises(NodeUserError, match="cannot be written in latin-1"):
        await ConvertToFile().execute(ctx, spilled([{"json": {"n": "€"}}] * 3))
