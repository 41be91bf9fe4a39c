"""A local web server publishing feeds, for the RSS Read node's tests (no real site can be reached from here).

The feeds follow the RSS 2.0 specification (https://www.rssboard.org/rss-specification, with the ``content:`` and
``dc:`` modules), Atom 1.0 (RFC 4287) and RSS 1.0 (RDF); the hostile ones are the classic XML attacks that
defusedxml refuses. Paths: ``/rss.xml``, ``/atom.xml``, ``/rdf.xml``, ``/laughs.xml`` (entity expansion),
``/xxe.xml`` (an external entity reading /etc/passwd), ``/not-a-feed.xml``, ``/moved`` (302 to ``Location`` from
the ``to`` query), ``/busy.xml`` (429 with ``Retry-After: 1`` once, then the RSS feed), anything else 404.
"""

from __future__ import annotations

from tests.fakes.http_fake import FakeApi, Request

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>LinkFlow releases</title><link>https://example.com/</link><description>News</description>
    <item>
      <title>LinkFlow 2.0 &amp; friends</title>
      <link>https://example.com/2.0</link>
      <description>Short &lt;b&gt;summary&lt;/b&gt;</description>
      <content:encoded><![CDATA[<p>Full <b>HTML</b> text</p>]]></content:encoded>
      <dc:creator>Ada</dc:creator>
      <pubDate>Thu, 15 Jan 2026 12:00:00 +0100</pubDate>
      <guid isPermaLink="false">release-2.0</guid>
      <category>release</category><category>news</category>
      <enclosure url="https://example.com/2.0.mp3" length="1234" type="audio/mpeg"/>
    </item>
    <item>
      <title>LinkFlow 1.9</title>
      <link>https://example.com/1.9</link>
      <description>Older</description>
      <pubDate>Mon, 01 Dec 2025 08:30:00 GMT</pubDate>
      <guid>https://example.com/1.9</guid>
    </item>
  </channel>
</rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Engineering blog</title><id>urn:uuid:feed</id><updated>2026-01-15T12:00:00Z</updated>
  <entry>
    <title>Exactly-once is a lie</title>
    <link rel="alternate" href="https://example.com/posts/1"/>
    <link rel="enclosure" href="https://example.com/posts/1.pdf" type="application/pdf" length="99"/>
    <id>urn:uuid:1</id>
    <published>2026-01-14T09:00:00+02:00</published><updated>2026-01-15T12:00:00Z</updated>
    <author><name>Grace</name></author><author><name>Linus</name></author>
    <summary>At-least-once plus idempotency.</summary>
    <content type="html">&lt;p&gt;Long read – über&lt;/p&gt;</content>
    <category term="kafka"/>
  </entry>
</feed>""".encode()

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://example.com/"><title>Old style</title></channel>
  <item rdf:about="https://example.com/a"><title>A</title><link>https://example.com/a</link>
    <dc:date>2025-12-24T18:00:00Z</dc:date><dc:subject>misc</dc:subject></item>
</rdf:RDF>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><item><title>&lol3;</title></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&secret;</title></item></channel></rss>"""

FEEDS = {"/rss.xml": RSS, "/atom.xml": ATOM, "/rdf.xml": RDF, "/laughs.xml": LAUGHS, "/xxe.xml": XXE,
         "/not-a-feed.xml": b"<html><body>hello</body></html>"}
TYPES = {"/atom.xml": "application/atom+xml", "/rdf.xml": "application/rdf+xml"}


class FeedServer(FakeApi):
    def __init__(self) -> None:
        super().__init__()
        self._busy = False

    def answer(self, request: Request):
        if request.path == "/moved":
            return 302, {"Location": request.query.get("to", "/rss.xml")}, b""
        if request.path == "/busy.xml" and not self._busy:
            self._busy = True
            return 429, {"Retry-After": "1"}, b"slow down"
        body = FEEDS.get("/rss.xml" if request.path == "/busy.xml" else request.path)
        if body is None:
            return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"
        return 200, {"Content-Type": TYPES.get(request.path, "application/rss+xml; charset=utf-8")}, body
