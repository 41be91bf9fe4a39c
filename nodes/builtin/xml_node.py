"""The XML node: XML text into JSON (parse) and JSON into XML text (build), with safe parsing."""

from __future__ import annotations

import copy
import json
import re
from typing import Any, Literal
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import Field

from nodes.builtin._fields import get_field, has_field, new_item, set_field
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if

MAX_XML_CHARS = 20 * 1024 * 1024  # text one item may hand to the parser
MAX_DEPTH = 200  # elements nested deeper than this are refused (an item's JSON may nest 240 levels)
_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")  # an XML element or attribute name (no namespace prefix)


class XmlParameters(NodeParameters):
    operation: Literal["parse", "build"] = Field(
        "parse", description="parse: XML text in a field into JSON; build: a field's JSON object into XML text")
    source_field: str = Field("data", description="The field to read (dots reach nested fields); build: empty "
                                                  "uses the item's whole json")
    destination_field: str = Field("data", min_length=1, description="The field the result is written to")
    attribute_prefix: str = Field("@", max_length=5, description="Keys starting with this are attributes")
    text_key: str = Field("#text", min_length=1, description="The key of an element's text when it also has "
                                                             "attributes or children")
    root_name: str = Field("root", description="build: the root element when the object has more than one key",
                           json_schema_extra=show_if(operation=["build"]))
    pretty: bool = Field(True, description="build: indent the XML",
                         json_schema_extra=show_if(operation=["build"]))
    declaration: bool = Field(True, description="build: start with <?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                              json_schema_extra=show_if(operation=["build"]))


class Xml(Node):
    """Parsing refuses any DTD (so no entity expansion, "billion laughs", and no external entities that
    could read a server file or call a URL) through defusedxml. An element becomes a string when it has
    only text, else an object: attributes under ``@name``, text under ``#text``, children by tag name,
    a tag that repeats as a list. Namespace URIs are dropped from names (``{uri}tag`` is ``tag``).
    Building does the reverse; values become text (true/false for booleans, empty for null).
    """

    type = "xml"
    display_name = "XML"
    group = "data"
    side_effects = False
    icon = "code-xml"
    description = "Turns XML text into JSON, or JSON into XML text."
    Parameters = XmlParameters

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            data = copy.deepcopy(item.get("json", {}))
            if params.operation == "parse":
                value = parse_xml(_source(data, params, index), params, index)
            else:
                value = build_xml(_source(data, params, index), params, index)
            set_field(data, params.destination_field, value)
            out.append(new_item(data, item))
        return out


def _source(data: dict, params: XmlParameters, index: int) -> Any:
    if not params.source_field:
        if params.operation == "parse":
            raise NodeUserError("parse needs the field that holds the XML text in source_field", item_index=index)
        return data
    if not has_field(data, params.source_field):
        raise NodeUserError(f"item {index} has no field {params.source_field!r}; check the name (dots reach "
                            "nested fields)", item_index=index)
    return get_field(data, params.source_field)


def parse_xml(text: Any, params: XmlParameters, index: int) -> dict:
    if not isinstance(text, str):
        raise NodeUserError(f"item {index}: the field to parse holds {type(text).__name__}, not XML text",
                            item_index=index)
    if len(text) > MAX_XML_CHARS:
        raise NodeUserError(f"item {index}: the XML is {len(text):,} characters; at most {MAX_XML_CHARS:,} are "
                            "parsed", item_index=index)
    try:
        root = fromstring(text.encode(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise NodeUserError(f"item {index}: the XML was refused: it declares a DTD or entities ({type(exc).__name__})"
                            "; LinkFlow never expands entities or loads external ones", item_index=index) from None
    except ElementTree.ParseError as exc:
        raise NodeUserError(f"item {index}: the text is not well-formed XML: {exc}", item_index=index) from None
    return {_local(root.tag): _element(root, params, index, 1)}


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _element(element: ElementTree.Element, params: XmlParameters, index: int, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NodeUserError(f"item {index}: the XML nests more than {MAX_DEPTH} elements deep", item_index=index)
    value: dict[str, Any] = {f"{params.attribute_prefix}{_local(k)}": v for k, v in element.attrib.items()}
    for child in element:
        converted, name = _element(child, params, index, depth + 1), _local(child.tag)
        if name not in value:
            value[name] = converted
        elif isinstance(value[name], list):
            value[name].append(converted)
        else:
            value[name] = [value[name], converted]
    text = (element.text or "") + "".join(child.tail or "" for child in element)
    if not value:
        return text
    if text.strip():
        value[params.text_key] = text.strip()
    return value


def build_xml(value: Any, params: XmlParameters, index: int) -> str:
    if not isinstance(value, dict) or not value:
        raise NodeUserError(f"item {index}: build needs a JSON object with at least one key, got "
                            f"{type(value).__name__}", item_index=index)
    plain = [k for k in value if not k.startswith(params.attribute_prefix or "\0") and k != params.text_key]
    if len(value) == 1 and plain and not isinstance(value[plain[0]], list):
        name, content = plain[0], value[plain[0]]
    else:
        name, content = params.root_name or "root", value
    root = ElementTree.Element(_checked_name(name, index))
    _fill(root, content, params, index, 1)
    if params.pretty:
        ElementTree.indent(root)
    text = ElementTree.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' if params.declaration else "") + text


def _fill(element: ElementTree.Element, content: Any, params: XmlParameters, index: int, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise NodeUserError(f"item {index}: the object nests more than {MAX_DEPTH} levels deep", item_index=index)
    if not isinstance(content, dict):
        element.text = _text(content)
        return
    prefix = params.attribute_prefix
    for key, child in content.items():
        if prefix and key.startswith(prefix):
            element.set(_checked_name(key[len(prefix):], index), _text(child))
        elif key == params.text_key:
            element.text = _text(child)
        else:
            for each in child if isinstance(child, list) else [child]:
                _fill(ElementTree.SubElement(element, _checked_name(key, index)), each, params, index, depth + 1)


def _checked_name(name: str, index: int) -> str:
    if not _NAME.match(name) or name.lower().startswith("xml"):
        raise NodeUserError(f"item {index}: {name!r} cannot be an XML name (letters, digits, _ . -; not starting "
                            "with a digit or 'xml')", item_index=index)
    return name


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
