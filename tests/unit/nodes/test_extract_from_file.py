import io
from datetime import datetime

import pytest

from nodes.builtin import _files
from nodes.builtin.extract_from_file import ExtractFromFile
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context


async def extract(data: bytes, **params):
    ctx = FakeContext(ExtractFromFile, params)
    ref = await ctx.put_binary(data, mime_type="application/octet-stream", file_name="f")
    out = await run_context(ExtractFromFile, ctx, [{"json": {"source": 1}, "binary": {"data": ref}}])
    return [item["json"] for item in out["main"]], out["main"]


async def test_csv_with_header_keeps_the_file_on_every_row():
    rows, items = await extract(b"name,qty\nAda,2\nBob,3\n", operation="csv")
    assert rows == [{"name": "Ada", "qty": "2"}, {"name": "Bob", "qty": "3"}]
    assert all(item["binary"]["data"]["id"] == "bin-1" for item in items)


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
async def test_csv_delimiter_is_detected(delimiter):
    text = f"a{delimiter}b\n1{delimiter}2\n3{delimiter}4\n".encode()
    assert (await extract(text))[0] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


async def test_csv_without_header_quotes_and_ragged_rows():
    rows, _ = await extract(b'1,"x, y"\n2\n\n', header=False)
    assert rows == [{"column_1": "1", "column_2": "x, y"}, {"column_1": "2", "column_2": None}]


async def test_csv_duplicate_and_empty_titles_are_all_kept():
    assert (await extract(b"a,a,\n1,2,3\n"))[0] == [{"a": "1", "a_2": "2", "column_3": "3"}]


@pytest.mark.parametrize("encoded", ["näme;größe\nÄpfel;5\n".encode("utf-16"),
                                     "\ufeffnäme;größe\nÄpfel;5\n".encode(),
                                     "näme;größe\nÄpfel;5\n".encode("cp1252")])
async def test_csv_encoding_is_detected(encoded):
    assert (await extract(encoded))[0] == [{"näme": "Äpfel", "größe": "5"}]


async def test_a_wrong_or_unknown_encoding_is_a_user_error():
    with pytest.raises(NodeUserError, match="unknown encoding"):
        await extract(b"a\n1\n", encoding="klingon")
    with pytest.raises(NodeUserError, match="not utf-8"):
        await extract("ä\n".encode("latin-1"), encoding="utf-8")


async def test_json_list_object_and_scalars():
    assert (await extract(b'[{"a": 1}, 2]', operation="json"))[0] == [{"a": 1}, {"data": 2}]
    assert (await extract(b'{"a": {"b": 1}}', operation="json"))[0] == [{"a": {"b": 1}}]
    with pytest.raises(NodeUserError, match="not valid JSON"):
        await extract(b"{nope", operation="json")


async def test_ndjson_one_item_a_line_and_the_bad_line_is_named():
    assert (await extract(b'{"a": 1}\n\n{"a": 2}\n', operation="ndjson"))[0] == [{"a": 1}, {"a": 2}]
    with pytest.raises(NodeUserError, match="line 2"):
        await extract(b'{"a": 1}\n{oops\n', operation="ndjson")


async def test_text_goes_to_the_destination_field():
    assert (await extract(b"hello\nworld", operation="text", destination_field="body"))[0] == [
        {"body": "hello\nworld"}]


def xlsx(rows, sheet="Sheet") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = sheet
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def test_xlsx_rows_with_dates_as_text_and_sheets_by_name():
    data = xlsx([["when", "n"], [datetime(2026, 1, 2, 3, 4), 5], [None, None]], sheet="Orders")
    assert (await extract(data, operation="xlsx"))[0] == [{"when": "2026-01-02T03:04:00", "n": 5}]
    assert (await extract(data, operation="xlsx", sheet="Orders"))[0][0]["n"] == 5
    with pytest.raises(NodeUserError, match="no sheet 'Other'"):
        await extract(data, operation="xlsx", sheet="Other")
    with pytest.raises(NodeUserError, match="not an Excel workbook"):
        await extract(b"plain text", operation="xlsx")


async def test_an_xlsx_that_claims_to_unpack_huge_is_refused_before_it_is_opened(monkeypatch):
    data = xlsx([["x" * 30_000] for _ in range(10)])  # ~5 KB that unpacks to ~300 KB
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 50_000)
    assert len(data) < 50_000
    with pytest.raises(NodeUserError, match="unpacks to"):
        await extract(data, operation="xlsx")


def pdf_with_text(text: str) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def test_pdf_text_and_page_count():
    rows, _ = await extract(pdf_with_text("Invoice 42"), operation="pdf")
    assert rows[0]["pages"] == 1 and "Invoice 42" in rows[0]["data"]
    with pytest.raises(NodeUserError, match="not a readable PDF"):
        await extract(b"%PDF-1.7 garbage", operation="pdf")


async def test_an_item_without_the_file_and_a_file_too_large(monkeypatch):
    ctx = FakeContext(ExtractFromFile, {})
    with pytest.raises(NodeUserError, match="no binary data 'data'"):
        await run_context(ExtractFromFile, ctx, [{"json": {}}])
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 10)
    with pytest.raises(NodeUserError, match="at most 10 are read"):
        await extract(b"a\n" * 20)


async def test_too_many_rows_is_a_user_error(monkeypatch):
    from nodes.builtin import extract_from_file

    monkeypatch.setattr(extract_from_file, "MAX_ROWS", 3)
    with pytest.raises(NodeUserError, match="more than 3"):
        await extract(b"a\n1\n2\n3\n4\n5\n")


PAGE = b"""<html><body><table id="nav"><tr><td>menu</td></tr></table>
<table><thead><tr><th>Name</th><th>Price &amp; tax</th></tr></thead>
<tbody><tr><td>Tea <b>green</b></td><td> 3.50 </td></tr><tr><td>Cake<br>lemon</td><td>
<table><tr><td>inner</td></tr></table>4</td></tr><tr><td></td><td></td></tr></tbody></table>
<script>document.write("<table><tr><td>not run</td></tr></table>")</script></body></html>"""


async def test_html_tables_by_index_with_entities_and_nested_tables():
    rows, _ = await extract(PAGE, operation="html_table", table_index=2)
    assert rows == [{"Name": "Tea green", "Price & tax": "3.50"}, {"Name": "Cake lemon", "Price & tax": "4"}]
    assert (await extract(PAGE, operation="html_table"))[0] == []  # the menu: a header row and nothing else
    assert (await extract(PAGE, operation="html_table", header=False))[0] == [{"column_1": "menu"}]
    assert (await extract(PAGE, operation="html_table", table_index=1))[0] == []  # the inner table
    with pytest.raises(NodeUserError, match="has 3 table"):
        await extract(PAGE, operation="html_table", table_index=7)


# -- large files: read in chunks, rows handed over in batches (produce) -------------------------------------------

async def produced(data: bytes, monkeypatch, **params) -> list[list[dict]]:
    from nodes.builtin import extract_from_file

    monkeypatch.setattr(extract_from_file, "STREAM_FROM_BYTES", 10)  # every file here counts as large
    ctx = FakeContext(ExtractFromFile, params)
    ref = await ctx.put_binary(data, mime_type="text/csv", file_name="f")
    items = [{"json": {}, "binary": {"data": ref}}]
    return [[item["json"] for item in batch] async for batch in ExtractFromFile().produce(ctx, items)]


async def test_a_large_csv_is_read_in_chunks_with_the_rows_of_the_whole_file_path(monkeypatch):
    lines = ["id;name;note"] + [f'{n};name {n};"a; quoted\nnote {n}"' for n in range(2500)]
    data = ("\n".join(lines) + "\n").encode()  # rows cross the 4 KB chunk edges of FakeContext.open_binary
    batches = await produced(data, monkeypatch)
    assert [len(batch) for batch in batches] == [1000, 1000, 500]
    whole, _ = await extract(data)
    assert [row for batch in batches for row in batch] == whole
    assert whole[2499] == {"id": "2499", "name": "name 2499", "note": "a; quoted\nnote 2499"}


async def test_a_large_csv_in_another_encoding_and_with_ragged_rows(monkeypatch):
    data = ("näme,größe\n" + "".join(f"Äpfel {n},{n}\n" for n in range(3000)) + "x,1,extra\n").encode("cp1252")
    rows = [row for batch in await produced(data, monkeypatch) for row in batch]
    assert rows[0] == {"näme": "Äpfel 0", "größe": "0"} and len(rows) == 3001
    assert rows[-1] == {"näme": "x", "größe": "1", "column_3": "extra"}  # only the long row has the extra column
    with pytest.raises(NodeUserError, match="not utf-8"):
        await produced(b"a\n" + b"1\n" * 5000 + b"\xff\xfe\n", monkeypatch, encoding="utf-8")


async def test_a_large_ndjson_file_is_read_line_by_line(monkeypatch):
    data = b"".join(b'{"n": %d}\n' % n for n in range(1500)) + b"\n7\n"
    rows = [row for batch in await produced(data, monkeypatch, operation="ndjson") for row in batch]
    assert rows[:2] == [{"n": 0}, {"n": 1}] and rows[-1] == {"data": 7} and len(rows) == 1501
    with pytest.raises(NodeUserError, match="line 3 is not valid JSON"):
        await produced(b'{"a": 1}\n{"a": 2}\n{oops\n', monkeypatch, operation="ndjson")


async def test_a_small_file_is_handed_over_in_batches_too(monkeypatch):
    ctx = FakeContext(ExtractFromFile, {"operation": "json"})
    ref = await ctx.put_binary(b"[" + b",".join(b'{"n": %d}' % n for n in range(1200)) + b"]", mime_type="x")
    batches = [batch async for batch in ExtractFromFile().produce(ctx, [{"json": {}, "binary": {"data": ref}}])]
    assert [len(batch) for batch in batches] == [1000, 200] and batches[1][-1]["json"] == {"n": 1199}
