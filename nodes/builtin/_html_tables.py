"""The tables of an HTML page as rows of cell text (the standard library's parser; no scripts run)."""

from __future__ import annotations

from html.parser import HTMLParser

MAX_CELL_CHARS = 100_000


class _Table:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None  # the text of the cell being read

    def end_cell(self) -> None:
        if self.cell is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append(" ".join("".join(self.cell).split()))
        self.cell = None


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._open: list[_Table] = []  # tables being read; a nested table is a table of its own

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "table":
            self._open.append(_Table())
        elif not self._open:
            return
        elif tag == "tr":
            self._open[-1].end_cell()
            self._open[-1].rows.append([])
        elif tag in ("td", "th"):
            self._open[-1].end_cell()
            self._open[-1].cell = []
        elif tag == "br" and self._open[-1].cell is not None:
            self._open[-1].cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self._open:
            return
        if tag in ("td", "th"):
            self._open[-1].end_cell()
        elif tag == "table":
            table = self._open.pop()
            table.end_cell()
            self.tables.append([row for row in table.rows if row])

    def handle_data(self, data: str) -> None:
        cell = self._open[-1].cell if self._open else None
        if cell is not None and sum(map(len, cell)) < MAX_CELL_CHARS:
            cell.append(data)


def html_tables(text: str) -> list[list[list[str]]]:
    """Every table in document order (an inner table comes before the one around it)."""
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return parser.tables
