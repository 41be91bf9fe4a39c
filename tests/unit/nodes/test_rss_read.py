"""The RSS Read node against tests/fakes/rss: a local web server publishing RSS 2.0, Atom and RSS 1.0 feeds and
hostile XML (no real site can be reached from here). Feeds do not page, so there is no pagination test."""

from __future__ import annotations

import time

import pytest

from nodes.builtin.rss_read import RssRead
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node
from tests.fakes.rss.server import FeedServer

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


async def _read(url, settings=LOOPBACK, **params):
    out = await run_node(RssRead, [{"json": {}}], params={"url": url, **params}, settings=settings)
    return [o["json"] for o in out["main"]]


async def test_an_rss_2_feed(feeds):
    entries = await _read(feeds.url + "/rss.xml")
    assert entries[0] == {
        "title": "LinkFlow 2.0 & friends", "link": "https://example.com/2.0", "pubDate": "Thu, 15 Jan 2026 12:00:00 +0100",
        "isoDate": "2026-01-15T11:00:00.000Z", "author": "", "creator": "Ada",
        "content": "<p>Full <b>HTML</b> text</p>", "contentSnippet": "Full HTML text",
        "summary": "Short <b>summary</b>", "guid": "release-2.0", "categories": ["release", "news"],
        "enclosure": {"url": "https://example.com/2.0.mp3", "type": "audio/mpeg", "length": "1234"}}
    assert entries[1]["isoDate"] == "2025-12-01T08:30:00.000Z" and entries[1]["content"] == "Older"
    assert "rss+xml" in feeds.requests[0].headers["accept"]
    assert len(await _read(feeds.url + "/rss.xml", limit=1)) == 1


async def test_an_atom_and_an_rdf_feed(feeds):
    [entry] = await _read(feeds.url + "/atom.xml")
    assert entry["title"] == "Exactly-once is a lie" and entry["link"] == "https://example.com/posts/1"
    assert entry["isoDate"] == "2026-01-14T07:00:00.000Z" and entry["author"] == "Grace, Linus"
    assert entry["content"] == "<p>Long read – über</p>" and entry["contentSnippet"] == "Long read – über"
    assert entry["guid"] == "urn:uuid:1" and entry["categories"] == ["kafka"]
    assert entry["enclosure"]["type"] == "application/pdf"
    [item] = await _read(feeds.url + "/rdf.xml")
    assert item["title"] == "A" and item["guid"] == "https://example.com/a" and item["categories"] == ["misc"]
    assert item["isoDate"] == "2025-12-24T18:00:00.000Z"


@pytest.mark.parametrize("path", ["/laughs.xml", "/xxe.xml"])
async def test_hostile_xml_is_refused(feeds, path):
    with pytest.raises(NodeUserError, match="it declares a DTD or entities"):
        await _read(feeds.url + path)


async def test_errors_name_the_feed_and_the_status(feeds):
    with pytest.raises(NodeUserError, match=r"the feed at 127.0.0.1:\d+/gone.xml answered 404 Not Found"):
        await _read(feeds.url + "/gone.xml?token=s3cret")
    with pytest.raises(NodeUserError, match="is XML but not a feed: its root is <html>"):
        await _read(feeds.url + "/not-a-feed.xml")


async def test_a_429_is_waited_out(feeds):
    started = time.monotonic()
    entries = await _read(feeds.url + "/busy.xml")
    assert len(entries) == 2 and time.monotonic() - started >= 1.0 and len(feeds.requests) == 2


async def test_the_address_policy_of_http_request_applies_to_every_hop(feeds):
    with pytest.raises(AddressRefused, match="loopback address"):
        await _read(feeds.url + "/rss.xml", settings={})
    assert feeds.requests == []
    port = feeds.url.rsplit(":", 1)[1]
    # "localhost" is allowed by name; its redirect to 127.0.0.1 (not allowed) is refused before it is followed
    moved = f"http://localhost:{port}/moved?to=http://127.0.0.1:{port}/rss.xml"
    with pytest.raises(AddressRefused, match="refused to connect to 127.0.0.1"):
        await _read(moved, settings={"http_allow_list": ["localhost"]})
    assert [r.path for r in feeds.requests] == ["/moved"]
    assert len(await _read(f"http://localhost:{port}/moved?to=/rss.xml", settings={"http_allow_list": ["localhost"]})) == 2
