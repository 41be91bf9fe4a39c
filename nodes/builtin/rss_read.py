"""The RSS Read node: the entries of an RSS 2.0, RSS 1.0 (RDF) or Atom 1.0 feed, one item each.

Like n8n's RSS Read node: ``url`` is fetched (GET, redirects followed, each hop checked) through the same address
policy as HTTP Request's (``nodes/sdk/net.py``: internal addresses refused unless ``LINKFLOW_HTTP_ALLOW_PRIVATE``
or ``LINKFLOW_HTTP_ALLOW_LIST`` allow them); a 429 is waited out as ``Retry-After`` says (up to 30 s, 3 times).
The feed is parsed with defusedxml, as the XML node does: a feed with a DTD (entity expansion, external entities)
is refused. Each entry becomes ``{title, link, pubDate, isoDate, author, creator, content, contentSnippet,
summary, guid, categories, enclosure?}`` (the field names of n8n's RSS Read); ``limit`` keeps the first entries
(0: all). Feeds do not page.
"""

from __future__ import annotations

import email.utils
import html
import re
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import Field

from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.saas_http import saas_client

MAX_ENTRIES = 10_000
_ACCEPT = "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_TAG = re.compile(r"<[^>]+>")


class RssReadParameters(NodeParameters):
    url: str = Field(min_length=1, max_length=2048, pattern=r"^https?://", description="The feed's URL (http or https)")
    limit: int = Field(0, ge=0, le=MAX_ENTRIES, description="At most this many entries, the first in the feed (0: all)")


class RssRead(Node):
    """One fetch per item; its entries become items."""

    type = "rss_read"
    display_name = "RSS Read"
    group = "integration"
    icon = "rss"
    description = "Reads the entries of an RSS or Atom feed from a URL."
    Parameters = RssReadParameters
    side_effects = True  # it calls a server

    async def execute(self, ctx, items):
        headers = {"Accept": _ACCEPT, "User-Agent": "LinkFlow RSS Read"}
        async with saas_client(ctx, "RSS Read", headers=headers, follow_redirects=True) as api:
            out: list[dict] = []
            for index in range(len(items)):
                params = ctx.params(index)
                shown = _shown(params.url)
                try:
                    response, body = await api.send("GET", params.url, label=shown)
                    if response.status_code >= 400:
                        raise NodeUserError(f"the feed at {shown} answered {response.status_code} "
                                            f"{response.reason_phrase}; check the URL")
                    entries = parse_feed(body, shown)
                except (NodeUserError, NodeTransientError) as exc:
                    exc.item_index = index
                    raise
                out += [{"json": e} for e in (entries[:params.limit] if params.limit else entries)]
            return out


def _shown(url: str) -> str:
    """The URL without its query or user info (a private feed's token often sits there)."""
    return url.split("#")[0].split("?")[0].split("://", 1)[-1].split("@")[-1]


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_feed(data: bytes, shown: str = "the feed") -> list[dict]:
    try:
        root = fromstring(data)
    except DefusedXmlException as exc:
        raise NodeUserError(f"{shown} was refused: it declares a DTD or entities ({type(exc).__name__}), which "
                            "LinkFlow does not parse (entity expansion, external files)") from None
    except ElementTree.ParseError as exc:
        raise NodeUserError(f"{shown} is not a well-formed feed: {exc}") from None
    kind = _local(root.tag)
    if kind == "feed":
        return [_atom(entry) for entry in root if _local(entry.tag) == "entry"]
    if kind == "rss":
        channel = next((c for c in root if _local(c.tag) == "channel"), None)
        return [_rss(item) for item in (channel if channel is not None else []) if _local(item.tag) == "item"]
    if kind == "RDF":
        return [_rss(item) for item in root if _local(item.tag) == "item"]
    raise NodeUserError(f"{shown} is XML but not a feed: its root is <{kind}>, not <rss>, <feed> or <rdf:RDF>")


def _children(element) -> dict[str, list]:
    found: dict[str, list] = {}
    for child in element:
        found.setdefault(_local(child.tag), []).append(child)
    return found


def _text(element) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def _first(children: dict, *names: str) -> str:
    for name in names:
        if children.get(name):
            return _text(children[name][0])
    return ""


def _snippet(content: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub(" ", content))).strip()


def _iso(date: str) -> str:
    if not date:
        return ""
    try:
        parsed = email.utils.parsedate_to_datetime(date)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            return ""
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _rss(item) -> dict:
    c = _children(item)
    content = _first(c, "encoded") or _first(c, "description")
    date = _first(c, "pubDate", "date")
    entry = {"title": _first(c, "title"), "link": _first(c, "link"), "pubDate": date, "isoDate": _iso(date),
             "author": _first(c, "author"), "creator": _first(c, "creator"), "content": content,
             "contentSnippet": _snippet(content), "summary": _first(c, "description"),
             "guid": _first(c, "guid") or item.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about", ""),
             "categories": [_text(x) for x in c.get("category", []) + c.get("subject", []) if _text(x)]}
    if c.get("enclosure"):
        enclosure = c["enclosure"][0]
        entry["enclosure"] = {"url": enclosure.get("url", ""), "type": enclosure.get("type", ""),
                              "length": enclosure.get("length", "")}
    return entry


def _atom(entry) -> dict:
    c = _children(entry)
    links = c.get("link", [])
    link = next((x.get("href", "") for x in links if x.get("rel", "alternate") == "alternate"), "")
    link = link or (links[0].get("href", "") if links else "")
    content, summary = _first(c, "content"), _first(c, "summary")
    date = _first(c, "published", "updated")
    authors = [_first(_children(a), "name") for a in c.get("author", [])]
    out = {"title": _first(c, "title"), "link": link, "pubDate": date, "isoDate": _iso(date),
           "author": ", ".join(a for a in authors if a), "creator": authors[0] if authors else "",
           "content": content or summary, "contentSnippet": _snippet(content or summary), "summary": summary,
           "guid": _first(c, "id"), "categories": [x.get("term", "") for x in c.get("category", []) if x.get("term")]}
    enclosure = next((x for x in links if x.get("rel") == "enclosure"), None)
    if enclosure is not None:
        out["enclosure"] = {"url": enclosure.get("href", ""), "type": enclosure.get("type", ""),
                            "length": enclosure.get("length", "")}
    return out
