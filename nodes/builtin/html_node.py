"""The HTML node: values out of an HTML page by CSS selector."""

from __future__ import annotations

import copy
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from nodes.builtin._fields import get_field, has_field, new_item, set_field
from nodes.builtin._files import decode, read_binary
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if

MAX_HTML_CHARS = 20 * 1024 * 1024  # text one item may hand to the parser


class Extraction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, description="The field the value goes to; dots make nested objects")
    selector: str = Field(min_length=1, max_length=2000, description="A CSS selector, e.g. 'table.prices td.total' "
                                                                     "or 'a[href]'")
    returns: Literal["text", "html", "attribute"] = Field(
        "text", description="text: the element's text; html: its HTML (the element itself included); "
                            "attribute: the value of 'attribute'")
    attribute: str = Field("", description="returns=attribute: its name, e.g. 'href'",
                           json_schema_extra=show_if(returns=["attribute"]))
    all: bool = Field(False, description="A list of every match; off: the first match only (null if none)")


class HtmlParameters(NodeParameters):
    source: Literal["json", "binary"] = Field("json", description="json: the HTML is text in a field; binary: a "
                                                                  "file the item carries")
    source_field: str = Field("data", min_length=1, description="source=json: the field with the HTML text",
                              json_schema_extra=show_if(source=["json"]))
    binary_property: str = Field("data", min_length=1, description="source=binary: the item's file, e.g. 'data'",
                                 json_schema_extra=show_if(source=["binary"]))
    extract: list[Extraction] = Field(min_length=1, description="What to take out of the page")
    trim: bool = Field(True, description="Strip spaces and line breaks around text and collapse runs of them")


class Html(Node):
    """The page is parsed by Beautiful Soup with Python's own HTML parser (pure Python; nothing on the page
    is run or fetched), selectors by Soup Sieve (CSS level 4: ``:is``, ``:has``, ``nth-child``, attribute
    operators). One output item per input item, with the extracted values added to its json.
    """

    type = "html"
    display_name = "HTML"
    group = "data"
    side_effects = False
    icon = "code"
    description = "Extracts text, HTML or attributes from an HTML page by CSS selector."
    Parameters = HtmlParameters

    async def execute(self, ctx, items):
        from bs4 import BeautifulSoup

        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            page = BeautifulSoup(await _page(ctx, item, params, index), "html.parser")
            data = copy.deepcopy(item.get("json", {}))
            for extraction in params.extract:
                set_field(data, extraction.key, _extract(page, extraction, params.trim, index))
            out.append(new_item(data, item))
        return out


async def _page(ctx, item: dict, params: HtmlParameters, index: int) -> str:
    if params.source == "binary":
        raw, _ = await read_binary(ctx, item, params.binary_property, index)
        text = decode(raw, "", index)
    else:
        data = item.get("json", {})
        if not has_field(data, params.source_field):
            raise NodeUserError(f"item {index} has no field {params.source_field!r}; check the name (dots reach "
                                "nested fields)", item_index=index)
        text = get_field(data, params.source_field)
        if not isinstance(text, str):
            raise NodeUserError(f"item {index}: field {params.source_field!r} holds {type(text).__name__}, not "
                                "HTML text", item_index=index)
    if len(text) > MAX_HTML_CHARS:
        raise NodeUserError(f"item {index}: the page is {len(text):,} characters; at most {MAX_HTML_CHARS:,} are "
                            "parsed", item_index=index)
    return text


def _extract(page, extraction: Extraction, trim: bool, index: int):
    from soupsieve import SelectorSyntaxError

    if extraction.returns == "attribute" and not extraction.attribute:
        raise NodeUserError(f"extraction {extraction.key!r} returns an attribute: name it in 'attribute'",
                            item_index=index)
    try:
        found = page.select(extraction.selector, limit=0 if extraction.all else 1)
    except SelectorSyntaxError as exc:
        message = str(exc).splitlines()[0]
        raise NodeUserError(f"extraction {extraction.key!r}: {extraction.selector!r} is not a CSS selector "
                            f"({message})", item_index=index) from None
    values = [_value(element, extraction, trim) for element in found]
    if extraction.all:
        return values
    return values[0] if values else None


def _value(element, extraction: Extraction, trim: bool):
    if extraction.returns == "html":
        return str(element)
    if extraction.returns == "attribute":
        value = element.get(extraction.attribute)
        return " ".join(value) if isinstance(value, list) else value  # class="a b" comes as a list
    text = element.get_text()
    return " ".join(text.split()) if trim else text
