"""The Convert to File node: items into one CSV, Excel, JSON or NDJSON file, or text into files."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from typing import Literal

from pydantic import Field

from nodes.builtin._fields import get_field
from nodes.builtin._files import MAX_FILE_BYTES, MAX_STREAMED_BYTES
from nodes.sdk import Item, Node, NodeParameters, NodeUserError, show_if

_TYPES = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson",
          "text": "text/plain", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_XLSX_MAX_ROWS = 1_048_575  # Excel's sheet size, less the header row


class ConvertToFileParameters(NodeParameters):
    operation: Literal["csv", "json", "ndjson", "text", "xlsx"] = Field(
        "csv", description="csv, json (a list), ndjson, xlsx: one file from all items; text: one file per item")
    binary_property: str = Field("data", min_length=1, description="The name the file gets in the item's binary")
    file_name: str = Field("", description="The file's name; empty: data.<format>")
    delimiter: str = Field(",", min_length=1, max_length=1, description="csv: the separator",
                           json_schema_extra=show_if(operation=["csv"]))
    header: bool = Field(True, description="csv, xlsx: write the column names as the first row",
                         json_schema_extra=show_if(operation=["csv", "xlsx"]))
    source_field: str = Field("data", min_length=1, description="text: the field whose text becomes the file",
                              json_schema_extra=show_if(operation=["text"]))
    encoding: str = Field("utf-8", description="csv, text, json, ndjson: how the text is encoded",
                          json_schema_extra=show_if(operation=["csv", "text", "json", "ndjson"]))
    sheet_name: str = Field("Sheet1", min_length=1, max_length=31, description="xlsx: the sheet's name",
                            json_schema_extra=show_if(operation=["xlsx"]))


class ConvertToFile(Node):
    """Columns are the items' fields in the order first seen; nested objects and lists are written as JSON
    text in CSV and Excel. The output item has the file under ``binary_property`` (and json ``{}``; for
    text, the source item's json). Files are limited to 100 MB."""

    type = "convert_to_file"
    display_name = "Convert to File"
    group = "data"
    side_effects = False
    icon = "file-output"
    description = "Writes items to a CSV, Excel, JSON or NDJSON file, or a field's text to a text file."
    Parameters = ConvertToFileParameters
    # A large input (spilled by the engine) is read batch by batch: csv and ndjson are written to a temporary
    # file and stored from it in chunks (up to 10 GB), so memory holds a batch, not the items or the file.
    accepts_streams = True

    async def execute(self, ctx, items):
        if not items:
            return []
        params = ctx.params(0)
        if params.operation == "text":
            return [await _text_file(ctx, item, index) for index, item in enumerate(items)]
        if not isinstance(items, list):
            if params.operation in ("csv", "ndjson"):
                return [{"json": {}, "binary": {params.binary_property: await _streamed_file(ctx, items, params)}}]
            items = list(items)  # json and xlsx are made whole, within their limits
        data = _MAKE[params.operation]([item.get("json", {}) for item in items], params)
        ref = await _store(ctx, data, params, None)
        return [{"json": {}, "binary": {params.binary_property: ref}}]


async def _text_file(ctx, item: Item, index: int) -> Item:
    params = ctx.params(index)
    value = get_field(item.get("json", {}), params.source_field)
    if value is None:
        raise NodeUserError(f"item {index} has no field {params.source_field!r} to write", item_index=index)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    ref = await _store(ctx, _encode(text, params.encoding), params, index)
    return {"json": dict(item.get("json", {})), "binary": {**(item.get("binary") or {}), params.binary_property: ref}}


async def _store(ctx, data: bytes, params: ConvertToFileParameters, index: int | None) -> dict:
    if len(data) > MAX_FILE_BYTES:
        raise NodeUserError(f"the file would be {len(data):,} bytes; at most {MAX_FILE_BYTES:,} are written",
                            item_index=index)
    name = params.file_name or f"data.{params.operation if params.operation != 'text' else 'txt'}"
    return await ctx.put_binary(data, mime_type=_TYPES[params.operation], file_name=name)


async def _streamed_file(ctx, stream, params: ConvertToFileParameters) -> dict:
    """A csv or ndjson file made from a stream of items a batch at a time, in a temporary file."""
    columns: dict[str, None] = {}
    if params.operation == "csv":  # the columns first: every field, in the order first seen
        for batch in stream.batches():
            for item in batch:
                columns.update(dict.fromkeys(item.get("json", {})))
    with tempfile.TemporaryFile(prefix="linkflow-convert-") as raw:
        try:
            text = io.TextIOWrapper(raw, encoding=params.encoding or "utf-8", newline="", write_through=False)
        except LookupError:
            raise NodeUserError(f"unknown encoding {params.encoding!r}; use e.g. utf-8, latin-1, cp1252") from None
        try:
            if params.operation == "csv":
                writer = csv.writer(text, delimiter=params.delimiter, lineterminator="\r\n")
                if params.header:
                    writer.writerow(list(columns))
            for batch in stream.batches():
                for item in batch:
                    row = item.get("json", {})
                    if params.operation == "csv":
                        writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
                    else:
                        text.write(json.dumps(row, ensure_ascii=False) + "\n")
                text.flush()
                if raw.tell() > MAX_STREAMED_BYTES:
                    raise NodeUserError(f"the file would be larger than {MAX_STREAMED_BYTES:,} bytes; "
                                        "split the items first")
            text.flush()
        except UnicodeEncodeError as exc:
            raise NodeUserError(f"{exc.object[exc.start:exc.end]!r} cannot be written in {params.encoding}; "
                                "use utf-8") from None
        text.detach()
        raw.seek(0)
        name = params.file_name or f"data.{params.operation}"
        return await ctx.put_binary(raw, mime_type=_TYPES[params.operation], file_name=name)


def _columns(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(key for row in rows for key in row))


def _cell(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(rows: list[dict], params: ConvertToFileParameters) -> bytes:
    columns, out = _columns(rows), io.StringIO(newline="")
    writer = csv.writer(out, delimiter=params.delimiter, lineterminator="\r\n")
    if params.header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
    return _encode(out.getvalue(), params.encoding)


def _json(rows: list[dict], params: ConvertToFileParameters) -> bytes:
    return _encode(json.dumps(rows, ensure_ascii=False, indent=2), params.encoding)


def _ndjson(rows: list[dict], params: ConvertToFileParameters) -> bytes:
    return _encode("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), params.encoding)


def _xlsx(rows: list[dict], params: ConvertToFileParameters) -> bytes:
    from openpyxl import Workbook

    if len(rows) > _XLSX_MAX_ROWS:
        raise NodeUserError(f"{len(rows):,} items do not fit on an Excel sheet (at most {_XLSX_MAX_ROWS:,}); "
                            "use csv")
    from openpyxl.utils.exceptions import IllegalCharacterError

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(params.sheet_name)
    columns = _columns(rows)
    try:
        if params.header:
            sheet.append([_xlsx_cell(sheet, c) for c in columns])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, _cell(row.get(c))) for c in columns])
    except IllegalCharacterError as exc:
        raise NodeUserError(f"a value holds a control character Excel cannot store ({exc}); remove it or use csv"
                            ) from None
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_cell(sheet, value):
    """Text stays text: openpyxl would store "=..." as a formula Excel runs when the file is opened."""
    if not (isinstance(value, str) and value.startswith("=")):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    return cell


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding or "utf-8")
    except LookupError:
        raise NodeUserError(f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252") from None
    except UnicodeEncodeError as exc:
        raise NodeUserError(f"{exc.object[exc.start:exc.end]!r} cannot be written in {encoding}; use utf-8") from None


_MAKE = {"csv": _csv, "json": _json, "ndjson": _ndjson, "xlsx": _xlsx}
