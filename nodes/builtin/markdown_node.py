"""The Markdown node: Markdown into sanitised HTML, and HTML into Markdown."""

from __future__ import annotations

import copy
from typing import Literal

from pydantic import Field

from nodes.builtin._fields import get_field, has_field, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError

MAX_TEXT_CHARS = 10 * 1024 * 1024
_DROPPED = ("script", "style", "template", "noscript", "iframe", "object", "embed")  # with their content


class MarkdownParameters(NodeParameters):
    operation: Literal["to_html", "to_markdown"] = Field(
        "to_html", description="to_html: Markdown text into HTML; to_markdown: HTML text into Markdown")
    source_field: str = Field("data", min_length=1, description="The field with the text (dots reach nested fields)")
    destination_field: str = Field("data", min_length=1, description="The field the result is written to")


class Markdown(Node):
    """to_html: CommonMark with tables and strikethrough (markdown-it-py). The output is safe to show in a
    page: HTML written inside the Markdown is escaped as text, never passed through, and links or images
    to ``javascript:``, ``vbscript:``, ``file:`` or (links) ``data:`` URLs are left as plain text.
    to_markdown: headings as ``#``, lists, links, emphasis, code and tables (markdownify); scripts, styles,
    frames and embedded objects are dropped with their content.
    """

    type = "markdown"
    display_name = "Markdown"
    group = "data"
    side_effects = False
    icon = "file-type"
    description = "Turns Markdown into sanitised HTML, or HTML into Markdown."
    Parameters = MarkdownParameters

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data = copy.deepcopy(item.get("json", {}))
            text = _source(data, params, index)
            set_field(data, params.destination_field, to_html(text) if params.operation == "to_html"
                      else to_markdown(text))
            out.append(new_item(data, item))
        return out


def _source(data: dict, params: MarkdownParameters, index: int) -> str:
    if not has_field(data, params.source_field):
        raise NodeUserError(f"item {index} has no field {params.source_field!r}; check the name (dots reach "
                            "nested fields)", item_index=index)
    text = get_field(data, params.source_field)
    if not isinstance(text, str):
        raise NodeUserError(f"item {index}: field {params.source_field!r} holds {type(text).__name__}, not text",
                            item_index=index)
    if len(text) > MAX_TEXT_CHARS:
        raise NodeUserError(f"item {index}: the text is {len(text):,} characters; at most {MAX_TEXT_CHARS:,} are "
                            "converted", item_index=index)
    return text


def to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    # "html": False is the sanitising: raw HTML in the source is escaped; markdown-it's validateLink refuses
    # javascript:, vbscript:, file: and data: (but data:image/gif|png|jpeg|webp) link targets.
    renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    return renderer.render(text)


def to_markdown(html: str) -> str:
    from bs4 import BeautifulSoup
    from markdownify import MarkdownConverter

    page = BeautifulSoup(html, "html.parser")
    for element in page.find_all(_DROPPED):
        element.decompose()
    markdown = MarkdownConverter(heading_style="ATX", bullets="-").convert_soup(page)
    return "\n".join(line.rstrip() for line in markdown.strip().splitlines()) + ("\n" if markdown.strip() else "")
