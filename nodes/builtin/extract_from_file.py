"""The Extract from File node: the rows or text inside a file an item carries."""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from nodes.builtin._fields import jsonable, new_item
from nodes.builtin._files import (
    BOMS,
    MAX_ROWS,
    MAX_STREAMED_BYTES,
    MAX_STREAMED_ROWS,
    binary_ref,
    check_zip,
    decode,
    read_binary,
)
from nodes.builtin._html_tables import html_tables
from nodes.sdk import Item, Node, NodeParameters, NodeUserError, show_if

Format = Literal["csv", "json", "ndjson", "text", "xlsx", "pdf", "html_table"]
_DELIMITERS = ",;\t|"
STREAM_FROM_BYTES = 8 * 1024 * 1024  # csv and ndjson files larger than this are read in chunks, rows in batches
_BATCH_ROWS = 1000


class ExtractFromFileParameters(NodeParameters):
    operation: Format = Field("csv", description="What the file holds: csv, json, ndjson (one JSON value a line), "
                                                 "text, xlsx (Excel), pdf (its text) or html_table (a table of "
                                                 "an HTML page)")
    binary_property: str = Field("data", min_length=1, description="The item's binary data to read, e.g. 'data'")
    destination_field: str = Field("data", min_length=1,
                                   description="text, pdf and JSON values that are not objects: the field they go to")
    delimiter: str = Field("", max_length=1, description="csv: the separator; empty: detect , ; tab or |",
                           json_schema_extra=show_if(operation=["csv"]))
    header: bool = Field(True, description="csv, xlsx, html_table: the first row names the columns; off: column_1, "
                                           "column_2, ...",
                         json_schema_extra=show_if(operation=["csv", "xlsx", "html_table"]))
    encoding: str = Field("", description="csv, json, ndjson, text, html_table: e.g. utf-8, latin-1; empty: detect",
                          json_schema_extra=show_if(operation=["csv", "json", "ndjson", "text", "html_table"]))
    sheet: str = Field("", description="xlsx: the sheet to read; empty: the first",
                       json_schema_extra=show_if(operation=["xlsx"]))
    skip_empty_rows: bool = Field(True, description="csv, xlsx, html_table: leave out rows with no value in any column",
                                  json_schema_extra=show_if(operation=["csv", "xlsx", "html_table"]))
    table_index: int = Field(0, ge=0, description="html_table: which table of the page, 0 for the first",
                             json_schema_extra=show_if(operation=["html_table"]))


class ExtractFromFile(Node):
    """One output item per row (csv, xlsx), per element (a JSON list) or per line (ndjson), or one item
    with the text (text, pdf). The input item's binary data is kept on every item it becomes.

    Limits: files up to 100 MB (uncompressed, for xlsx) and 1,000,000 rows; an xlsx whose parts
    claim more is refused before it is opened (zip bombs).
    """

    type = "extract_from_file"
    display_name = "Extract from File"
    group = "data"
    side_effects = False
    icon = "file-input"
    description = "Reads the rows of a CSV or Excel file or an HTML table, JSON, NDJSON, text or a PDF's text."
    Parameters = ExtractFromFileParameters

    async def produce(self, ctx, items):
        """The engine's way in: the same rows as ``execute``, handed over in batches. A csv or ndjson
        file past ``STREAM_FROM_BYTES`` is read in chunks, so memory holds one batch of rows whatever
        the file's size (up to 10 GB and 100,000,000 rows then; a row longer than the header gets
        column_N names for its extra values on that row only)."""
        for index, item in enumerate(items):
            params = ctx.params(index)
            ref = (item.get("binary") or {}).get(params.binary_property)
            if not (params.operation in ("csv", "ndjson") and isinstance(ref, dict)
                    and isinstance(ref.get("size"), int) and ref["size"] > STREAM_FROM_BYTES):
                rows = await self._rows(ctx, item, params, index)
                for start in range(0, len(rows), _BATCH_ROWS):
                    yield [new_item(row, item) for row in rows[start:start + _BATCH_ROWS]]
                continue
            batch: list[Item] = []
            for row in _streamed_rows(ctx, item, params, index):
                batch.append(new_item(row, item))
                if len(batch) >= _BATCH_ROWS:
                    yield batch
                    batch = []
            if batch:
                yield batch

    @staticmethod
    async def _rows(ctx, item: Item, params: ExtractFromFileParameters, index: int) -> list[dict]:
        data, _ = await read_binary(ctx, item, params.binary_property, index)
        return _EXTRACT[params.operation](data, params, index)

    async def execute(self, ctx, items):
        out: list[Item] = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data, _ = await read_binary(ctx, item, params.binary_property, index)
            rows = _EXTRACT[params.operation](data, params, index)
            out += [new_item(row, item) for row in rows]
            if len(out) > MAX_ROWS:
                raise NodeUserError(f"the files make more than {MAX_ROWS:,} items; split them first",
                                    item_index=index)
        return out


def _csv(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    text = decode(data, params.encoding, index)
    delimiter = params.delimiter or _sniff(text)
    try:
        rows = list(_limited(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), index))
    except csv.Error as exc:
        raise NodeUserError(f"the CSV could not be read: {exc}", item_index=index) from None
    return _table(rows, params, index)


def _streamed_rows(ctx, item: Item, params: ExtractFromFileParameters, index: int) -> Iterator[dict]:
    """The rows of a large csv or ndjson file, read from storage in chunks as they are consumed."""
    ref = binary_ref(item, params.binary_property, index, limit=MAX_STREAMED_BYTES)
    chunks = ctx.open_binary(ref)
    head = b""
    for chunk in chunks:  # enough of the start to tell the encoding and the separator
        head += chunk
        if len(head) >= 64 * 1024:
            break
    encoding = _stream_encoding(head, params.encoding, index)
    text = io.TextIOWrapper(io.BufferedReader(_ChunkReader(head, chunks), 1024 * 1024), encoding=encoding,
                            newline="")
    try:
        if params.operation == "ndjson":
            yield from _ndjson_lines(text, params, index)
            return
        sample = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head)
        reader = csv.reader(text, delimiter=params.delimiter or _sniff(sample))
        yield from _csv_stream(reader, params, index)
    except csv.Error as exc:
        raise NodeUserError(f"the CSV could not be read: {exc}", item_index=index) from None
    except UnicodeDecodeError as exc:
        raise NodeUserError(f"the file is not {encoding} ({exc.reason}); set the encoding", item_index=index) from None
    finally:
        text.close()


def _stream_encoding(head: bytes, encoding: str, index: int) -> str:
    if encoding:
        try:
            return codecs.lookup(encoding).name
        except LookupError:
            raise NodeUserError(f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252, utf-16",
                                item_index=index) from None
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head)  # a character cut at the end is no error
        return "utf-8"
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(head).best()
        if best is None:
            raise NodeUserError("the file's text encoding could not be detected (is it text?); set the encoding",
                                item_index=index) from None
        return best.encoding


class _ChunkReader(io.RawIOBase):
    """A readable file over the chunks of an object in storage (after ``head``, already read)."""

    def __init__(self, head: bytes, chunks: Iterator[bytes]) -> None:
        self.pending, self.chunks = memoryview(head), iter(chunks)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = next(self.chunks, None)
            if chunk is None:
                return 0
            self.pending = memoryview(chunk)
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def _csv_stream(reader, params: ExtractFromFileParameters, index: int) -> Iterator[dict]:
    names: list[str] | None = None
    for count, row in enumerate(reader):
        if count > MAX_STREAMED_ROWS:
            raise NodeUserError(f"the file has more than {MAX_STREAMED_ROWS:,} rows; split it first",
                                item_index=index)
        if params.skip_empty_rows and not any(value != "" for value in row):
            continue
        if names is None and params.header:
            names = _names([str(v) for v in row], len(row))
            continue
        if names is None:
            names = []
        if len(row) > len(names):
            names = _names(names, len(row))
        yield dict(zip(names, row + [None] * (len(names) - len(row)), strict=False))


def _ndjson_lines(text, params: ExtractFromFileParameters, index: int) -> Iterator[dict]:
    for number, line in enumerate(text, start=1):
        if number > MAX_STREAMED_ROWS:
            raise NodeUserError(f"the file has more than {MAX_STREAMED_ROWS:,} lines; split it first",
                                item_index=index)
        if not line.strip():
            continue
        try:
            yield _as_row(json.loads(line), params)
        except ValueError as exc:
            raise NodeUserError(f"line {number} is not valid JSON: {exc}", item_index=index) from None


def _sniff(text: str) -> str:
    sample = text[:64 * 1024]
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:  # one column, or too little to tell: the separator seen most in the first line
        first = sample.split("\n", 1)[0]
        return max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","


def _table(rows: list[list], params: ExtractFromFileParameters, index: int) -> list[dict]:
    if params.skip_empty_rows:
        rows = [row for row in rows if any(value not in (None, "") for value in row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    names = [f"column_{n + 1}" for n in range(width)]
    if params.header:
        header, rows = rows[0], rows[1:]
        names = _names([str(v) if v not in (None, "") else "" for v in header], width)
    return [dict(zip(names, jsonable(row) + [None] * (width - len(row)), strict=True)) for row in rows]


def _names(header: list[str], width: int) -> list[str]:
    names, seen = [], set()
    for n in range(width):
        name = (header[n] if n < len(header) else "") or f"column_{n + 1}"
        base, k = name, 2
        while name in seen:  # two columns with one title: both kept
            name, k = f"{base}_{k}", k + 1
        seen.add(name)
        names.append(name)
    return names


def _limited(rows, index: int):
    for count, row in enumerate(rows):
        if count > MAX_ROWS:
            raise NodeUserError(f"the file has more than {MAX_ROWS:,} rows; split it first", item_index=index)
        yield row


def _json(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    try:
        value = json.loads(decode(data, params.encoding, index))
    except ValueError as exc:
        raise NodeUserError(f"the file is not valid JSON: {exc}", item_index=index) from None
    values = value if isinstance(value, list) else [value]
    return [_as_row(v, params) for v in _limited(values, index)]


def _ndjson(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    rows = []
    for number, line in enumerate(_limited(decode(data, params.encoding, index).splitlines(), index), start=1):
        if not line.strip():
            continue
        try:
            rows.append(_as_row(json.loads(line), params))
        except ValueError as exc:
            raise NodeUserError(f"line {number} is not valid JSON: {exc}", item_index=index) from None
    return rows


def _as_row(value, params: ExtractFromFileParameters) -> dict:
    return value if isinstance(value, dict) else {params.destination_field: value}


def _text(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    return [{params.destination_field: decode(data, params.encoding, index)}]


def _xlsx(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive, "the workbook", index)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise NodeUserError(f"the file is not an Excel workbook (.xlsx): {exc}", item_index=index) from None
    try:
        if params.sheet and params.sheet not in workbook.sheetnames:
            raise NodeUserError(f"the workbook has no sheet {params.sheet!r}; it has {workbook.sheetnames}",
                                item_index=index)
        sheet = workbook[params.sheet] if params.sheet else workbook.worksheets[0]
        rows = [list(row) for row in _limited(sheet.iter_rows(values_only=True), index)]
    finally:
        workbook.close()
    return _table(rows, params, index)


def _pdf(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise NodeUserError("the PDF is encrypted; its text cannot be read", item_index=index)
        pages = [page.extract_text() or "" for page in reader.pages]
    except PdfReadError as exc:
        raise NodeUserError(f"the file is not a readable PDF: {exc}", item_index=index) from None
    return [{params.destination_field: "\n\n".join(pages), "pages": len(pages)}]


def _html_table(data: bytes, params: ExtractFromFileParameters, index: int) -> list[dict]:
    tables = html_tables(decode(data, params.encoding, index))
    if params.table_index >= len(tables):
        raise NodeUserError(f"the page has {len(tables)} table(s); table_index {params.table_index} is not one "
                            "of them (0 is the first)", item_index=index)
    return _table(list(_limited(tables[params.table_index], index)), params, index)


_EXTRACT = {"csv": _csv, "json": _json, "ndjson": _ndjson, "text": _text, "xlsx": _xlsx, "pdf": _pdf,
            "html_table": _html_table}
