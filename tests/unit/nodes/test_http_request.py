"""HTTP Request against a real HTTP server on 127.0.0.1 (which is also what SSRF protection guards)."""

import asyncio
import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from nodes.builtin.http_request import HttpRequest
from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, pinned
from nodes.sdk.testing import FakeContext, run_context, run_node

ALLOW = {"http_allow_private": True}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def route(self):
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.answer(parts.path, query, body)

    def answer(self, path, query, body):
        if path == "/echo":
            echo = {"method": self.command, "query": query, "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body}
            return self.send(200, json.dumps(echo), "application/json")
        if path == "/text":
            return self.send(200, "plain words", "text/plain; charset=utf-8")
        if path == "/image.png":
            return self.send(200, b"\x89PNG-bytes", "image/png")
        if path == "/big.bin":
            return self.send(200, bytes(range(256)) * (int(query.get("kb", 1)) * 4), "application/octet-stream")
        if path == "/html":
            return self.send(200, "<html>hi</html>", "text/html")
        if path.startswith("/status/"):
            return self.send(int(path.rsplit("/", 1)[1]), '{"error": "it went wrong"}', "application/json")
        if path == "/redirect":
            return self.send(int(query.get("code", 302)), "", "text/plain", {"Location": query["to"]})
        if path == "/loop":
            return self.send(302, "", "text/plain", {"Location": "/loop"})
        if path == "/delay":
            self.count_in_flight(+1)
            time.sleep(float(query["s"]))
            self.count_in_flight(-1)  # before answering, so the client cannot start the next one first
            return self.send(200, json.dumps({"i": int(query.get("i", 0))}), "application/json")
        if path == "/pages":  # next_url: 3 records a page, 4 pages; ?other= points the last "next" elsewhere
            page = int(query.get("p", 1))
            nxt = f"/pages?p={page + 1}" if page < 4 else query.get("other")
            if nxt and "other" in query and page < 4:
                nxt += f"&other={query['other']}"
            body = {"data": [{"n": (page - 1) * 3 + i} for i in range(3)], "meta": {"next": nxt},
                    "key": query.get("api_key"), "auth": self.headers.get("Authorization")}
            return self.send(200, json.dumps(body), "application/json")
        if path == "/numbered":  # page_number: pages 1..3 have records, then an empty list
            page = int(query.get("page", 0))
            return self.send(200, json.dumps([{"page": page, "i": i} for i in range(2)] if page <= 3 else []),
                             "application/json")
        if path == "/linked":
            page = int(query.get("p", 1))
            headers = {"Link": f'</linked?p={page + 1}>; rel="next"'} if page < 3 else {}
            return self.send(200, json.dumps({"items": [page]}), "application/json", headers)
        if path == "/circular":
            return self.send(200, json.dumps({"next": "/circular"}), "application/json")
        return self.send(404, "no such page", "text/plain")

    def count_in_flight(self, change):
        with self.server.lock:
            self.server.in_flight += change
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)

    def send(self, status, body, content_type, headers=None):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.lock, httpd.in_flight, httpd.max_in_flight = threading.Lock(), 0, 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server):
    return f"http://127.0.0.1:{server.server_address[1]}"


async def call(params, settings=ALLOW, items=None, **context):
    out = await run_node(HttpRequest, items or [{"json": {}}], params=params, settings=settings, **context)
    return out["main"]


# -- SSRF protection ---------------------------------------------------------------------------


async def test_loopback_is_refused_by_default_with_a_message_naming_the_settings(base):
    with pytest.raises(NodeUserError) as info:
        await call({"url": f"{base}/echo"}, settings={})
    message = str(info.value)
    assert "127.0.0.1" in message and "loopback" in message
    assert "LINKFLOW_HTTP_ALLOW_PRIVATE" in message and "LINKFLOW_HTTP_ALLOW_LIST" in message
    assert info.value.retryable is False


async def test_the_refusal_reads_the_same_for_an_open_and_a_closed_port(base):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(NodeUserError) as at_open:
        await call({"url": f"{base}/echo"}, settings={})
    with pytest.raises(NodeUserError) as at_closed:
        await call({"url": f"http://127.0.0.1:{closed}/echo"}, settings={})
    assert at_open.value.message == at_closed.value.message


async def test_localhost_name_is_refused_too(server):
    with pytest.raises(NodeUserError, match=r"localhost: it resolves to (127\.0\.0\.1|::1), a loopback address"):
        await call({"url": f"http://localhost:{server.server_address[1]}/echo"}, settings={})


async def test_allow_private_setting_lets_it_through(base):
    [item] = await call({"url": f"{base}/echo"}, settings={"http_allow_private": True})
    assert item["json"]["status"] == 200 and item["json"]["body"]["method"] == "GET"


@pytest.mark.parametrize("allow_list", [["127.0.0.0/8"], ["127.0.0.1"], "10.0.0.0/8, 127.0.0.1/32"])
async def test_allow_list_cidr_or_address_lets_it_through(base, allow_list):
    [item] = await call({"url": f"{base}/echo"}, settings={"http_allow_list": allow_list})
    assert item["json"]["status"] == 200


async def test_allow_list_host_name(server):
    url = f"http://localhost:{server.server_address[1]}/echo"
    [item] = await call({"url": url}, settings={"http_allow_list": ["localhost"]})
    assert item["json"]["body"]["headers"]["host"] == f"localhost:{server.server_address[1]}"


async def test_allow_list_entries_that_do_not_match_change_nothing(base):
    with pytest.raises(NodeUserError, match="loopback"):
        await call({"url": f"{base}/echo"}, settings={"http_allow_list": ["10.0.0.0/8", "example.com"]})


async def test_redirects_are_checked_again(server, base):
    port = server.server_address[1]
    url = f"http://localhost:{port}/redirect?to={base}/echo"
    with pytest.raises(NodeUserError, match=r"refused to connect to 127\.0\.0\.1"):
        await call({"url": url}, settings={"http_allow_list": ["localhost"]})


@pytest.mark.parametrize(("address", "kind"), [
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("169.254.169.254", "link-local"),
    ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("fe80::1", "link-local"), ("240.0.0.1", "reserved"), ("100.64.0.1", "non-public"), ("8.8.8.8", None),
    ("2606:4700::1111", None),
])
def test_address_classes(address, kind):
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) == kind


def test_connections_are_pinned_to_the_checked_address_keeping_host_and_sni():
    request = httpx.Request("GET", "https://API.example.com:8443/v1?x=1")
    target = pinned(request, "93.184.216.34")
    assert str(target.url) == "https://93.184.216.34:8443/v1?x=1"
    assert target.headers["host"] == "api.example.com:8443" and target.extensions["sni_hostname"] == "api.example.com"
    literal = httpx.Request("GET", "http://10.0.0.1/")
    assert pinned(literal, "10.0.0.1") is literal


async def test_unknown_host_is_a_user_error():
    with pytest.raises(NodeUserError, match="unknown host 'nothing-here.invalid'"):
        await call({"url": "http://nothing-here.invalid/"}, settings={})


# -- requests and answers ----------------------------------------------------------------------


async def test_query_headers_and_json_body(base):
    params = {"method": "POST", "url": f"{base}/echo?fixed=1", "query": {"q": "x y", "flag": True, "skip": None},
              "headers": {"X-Trace": "abc"}, "body_type": "json", "body": {"a": [1, 2]}}
    [item] = await call(params)
    echo = item["json"]["body"]
    assert echo["query"] == {"fixed": "1", "q": "x y", "flag": "true"}
    assert echo["headers"]["x-trace"] == "abc" and echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"a": [1, 2]}
    assert item["json"]["headers"]["content-type"] == "application/json"


async def test_form_and_raw_bodies(base):
    [form] = await call({"method": "POST", "url": f"{base}/echo", "body_type": "form", "body": {"a": "1", "b": 2}})
    assert form["json"]["body"]["body"] == "a=1&b=2"
    [raw] = await call({"method": "PUT", "url": f"{base}/echo", "body_type": "raw", "body": "<x/>",
                        "content_type": "application/xml"})
    assert raw["json"]["body"]["body"] == "<x/>"
    assert raw["json"]["body"]["headers"]["content-type"] == "application/xml"


async def test_text_and_binary_answers(base):
    [text] = await call({"url": f"{base}/text", "response_format": "text"})
    assert text["json"]["body"] == "plain words"
    ctx = FakeContext(HttpRequest, {"url": f"{base}/image.png", "response_format": "binary"}, settings=ALLOW)
    [item] = (await run_context(HttpRequest, ctx, [{"json": {}}]))["main"]
    ref = item["binary"]["data"]
    assert (ref["mime_type"], ref["file_name"]) == ("image/png", "image.png")
    assert await ctx.get_binary(ref) == b"\x89PNG-bytes"
    assert "body" not in item["json"]


async def test_a_large_binary_answer_is_handed_to_storage_as_a_file(base):
    ctx = FakeContext(HttpRequest, {"url": f"{base}/big.bin?kb=3072", "response_format": "binary"}, settings=ALLOW)
    [item] = (await run_context(HttpRequest, ctx, [{"json": {}}]))["main"]
    assert ctx.streamed == ["big.bin"]  # spooled (past 1 MB to a temporary file), never one bytes object
    assert await ctx.get_binary(item["binary"]["data"]) == bytes(range(256)) * 4 * 3072


async def test_a_binary_answer_over_the_limit_is_refused(base, monkeypatch):
    from nodes.builtin import http_request

    monkeypatch.setattr(http_request, "MAX_RESPONSE_BYTES", 10_000)
    with pytest.raises(NodeUserError, match="larger than"):
        await call({"url": f"{base}/big.bin?kb=20", "response_format": "binary"})


async def test_an_error_answer_with_binary_format_still_names_the_start_of_the_body(base):
    with pytest.raises(NodeUserError, match="it went wrong"):
        await call({"url": f"{base}/status/404", "response_format": "binary"})


async def test_head_request_has_no_body(base):
    [item] = await call({"method": "HEAD", "url": f"{base}/echo"})
    assert item["json"]["body"] is None


async def test_non_json_answer_says_to_use_text(base):
    with pytest.raises(NodeUserError, match="is not JSON .* set response_format to 'text'"):
        await call({"url": f"{base}/html"})


async def test_client_errors_are_user_errors_with_status_and_excerpt(base):
    with pytest.raises(NodeUserError, match="answered 404 Not Found: 'no such page'") as info:
        await call({"url": f"{base}/missing?api_key=secret"})
    assert "secret" not in str(info.value)
    assert info.value.details["status"] == 404


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_server_errors_and_rate_limits_are_transient(base, status):
    with pytest.raises(NodeTransientError, match=f"answered {status}.*it went wrong") as info:
        await call({"url": f"{base}/status/{status}"})
    assert info.value.retryable is True


async def test_fail_on_status_off_outputs_the_answer(base):
    [item] = await call({"url": f"{base}/status/404", "fail_on_status": False})
    assert item["json"]["status"] == 404 and item["json"]["body"] == {"error": "it went wrong"}


async def test_timeout_is_transient(base):
    with pytest.raises(NodeTransientError, match="no answer within 0.3s"):
        await call({"url": f"{base}/delay?s=2", "timeout_s": 0.3})


async def test_redirect_is_followed_and_post_becomes_get(base):
    [item] = await call({"method": "POST", "url": f"{base}/redirect?to=/echo", "body_type": "json", "body": {"a": 1}})
    assert item["json"]["body"]["method"] == "GET" and item["json"]["body"]["body"] == ""


async def test_307_keeps_method_and_body(base):
    [item] = await call({"method": "POST", "url": f"{base}/redirect?code=307&to=/echo", "body_type": "json",
                         "body": {"a": 1}})
    assert item["json"]["body"]["method"] == "POST" and json.loads(item["json"]["body"]["body"]) == {"a": 1}


async def test_redirects_can_be_left_alone(base):
    [item] = await call({"url": f"{base}/redirect?to=/echo", "follow_redirects": False})
    assert item["json"]["status"] == 302 and item["json"]["headers"]["location"] == "/echo"


async def test_endless_redirects_stop(base):
    with pytest.raises(NodeUserError, match="redirected more than 5 times"):
        await call({"url": f"{base}/loop"})


async def test_items_run_concurrently_but_bounded_and_keep_their_order(server, base):
    while server.in_flight:  # a request of an earlier test (the timeout one) may still be sleeping
        await asyncio.sleep(0.05)
    server.max_in_flight = 0
    items = [{"json": {}} for _ in range(12)]
    params = [{"url": f"{base}/delay?s={0.02 * (12 - i)}&i={i}"} for i in range(12)]
    out = await call(params, items=items)
    assert [item["json"]["body"]["i"] for item in out] == list(range(12))
    assert 1 < server.max_in_flight <= 8


async def test_failing_item_is_named(base):
    params = [{"url": f"{base}/echo"}, {"url": f"{base}/status/400"}]
    with pytest.raises(NodeUserError) as info:
        await call(params, items=[{"json": {}}, {"json": {}}])
    assert info.value.item_index == 1


def test_only_http_urls():
    with pytest.raises(NodeUserError, match="must start with http:// or https://"):
        FakeContext(HttpRequest, {"url": "file:///etc/passwd"}).params(0)


def test_body_needs_a_body_type():
    with pytest.raises(NodeUserError, match="body_type is 'none'"):
        FakeContext(HttpRequest, {"url": "http://x", "body": {"a": 1}}).params(0)


# -- credentials -------------------------------------------------------------------------------


@pytest.mark.parametrize(("credential", "header"), [
    ({"type": "bearer_token", "token": "t0k"}, "Bearer t0k"),
    ({"type": "oauth2", "access_token": "acc", "token_type": "bearer"}, "Bearer acc"),
    ({"type": "http_basic", "username": "ada", "password": "pw"}, "Basic YWRhOnB3"),
    ({"headers": {"Authorization": "Custom xyz"}}, "Custom xyz"),
])
async def test_credentials_set_the_authorization_header(base, credential, header):
    [item] = await call({"url": f"{base}/echo", "authentication": "credential"}, credentials={"auth": credential})
    assert item["json"]["body"]["headers"]["authorization"] == header


async def test_api_key_header_and_query_injection(base):
    [item] = await call({"url": f"{base}/echo", "authentication": "credential", "headers": {"X-Api-Key": "mine"}},
                        credentials={"auth": {"type": "api_key_header", "header_name": "X-Api-Key", "api_key": "k1"}})
    assert item["json"]["body"]["headers"]["x-api-key"] == "k1"
    [item] = await call({"url": f"{base}/echo", "authentication": "credential"},
                        credentials={"auth": {"query": {"api_key": "k2"}}})
    assert item["json"]["body"]["query"] == {"api_key": "k2"}


async def test_credentials_are_not_used_without_authentication_credential(base):
    [item] = await call({"url": f"{base}/echo"}, credentials={"auth": {"type": "bearer_token", "token": "t"}})
    assert "authorization" not in item["json"]["body"]["headers"]


async def test_credentials_are_dropped_on_a_redirect_to_another_origin(server, base):
    port = server.server_address[1]
    url = f"{base}/redirect?to=http://localhost:{port}/echo"
    [item] = await call({"url": url, "authentication": "credential", "headers": {"X-Other": "kept"}},
                        credentials={"auth": {"headers": {"X-Api-Key": "k", "Authorization": "Bearer t"}}})
    headers = item["json"]["body"]["headers"]
    assert "authorization" not in headers and "x-api-key" not in headers and headers["x-other"] == "kept"


async def test_unknown_credential_shape_is_a_user_error(base):
    with pytest.raises(NodeUserError, match="unsupported shape") as info:
        await call({"url": f"{base}/echo", "authentication": "credential"},
                   credentials={"auth": {"type": "ssh_key", "private_key": "SECRET"}})
    assert "SECRET" not in str(info.value)


async def test_incomplete_credential_names_the_missing_field(base):
    with pytest.raises(NodeUserError, match="lacks the field 'token'"):
        await call({"url": f"{base}/echo", "authentication": "credential"},
                   credentials={"auth": {"type": "bearer_token"}})


# -- pagination ------------------------------------------------------------------------------------


async def test_next_url_pagination_outputs_one_item_per_record_and_a_batch_per_page(base):
    params = {"url": f"{base}/pages", "pagination": "next_url", "next_url_field": "meta.next",
              "records_field": "data"}
    records = await call(params)
    assert [item["json"]["n"] for item in records] == list(range(12))
    ctx = FakeContext(HttpRequest, params, settings=ALLOW)
    batches = [batch async for batch in HttpRequest().produce(ctx, [{"json": {}}])]
    assert [len(batch) for batch in batches] == [3, 3, 3, 3]  # handed to the engine page by page


async def test_page_number_pagination_stops_at_the_first_empty_page_or_max_pages(base):
    pages = await call({"url": f"{base}/numbered", "pagination": "page_number", "query": {"size": 2}})
    assert [(item["json"]["page"], item["json"]["i"]) for item in pages] == [
        (1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    capped = await call({"url": f"{base}/numbered", "pagination": "page_number", "page_start": 0, "max_pages": 2})
    assert [item["json"]["page"] for item in capped] == [0, 0, 1, 1]


async def test_link_header_pagination_and_whole_answers_without_records_field(base):
    answers = await call({"url": f"{base}/linked", "pagination": "link_header"})
    assert [item["json"]["body"] for item in answers] == [{"items": [1]}, {"items": [2]}, {"items": [3]}]
    assert all(item["json"]["status"] == 200 for item in answers)


async def test_a_next_page_pointing_back_ends_the_listing(base):
    assert len(await call({"url": f"{base}/circular", "pagination": "next_url"})) == 1


async def test_credentials_go_to_next_pages_on_their_origin_only(server, base):
    port = server.server_address[1]
    params = {"url": f"{base}/pages", "pagination": "next_url", "next_url_field": "meta.next",
              "query": {"other": f"http://localhost:{port}/pages?p=9"}, "authentication": "credential"}
    answers = await call(params, credentials={"auth": {"headers": {"Authorization": "Bearer t"},
                                                       "query": {"api_key": "k"}}})
    seen = [(item["json"]["body"]["auth"], item["json"]["body"]["key"]) for item in answers]
    assert seen[:4] == [("Bearer t", "k")] * 4  # the API's own next links lack the key: it is added again
    assert seen[4] == (None, None)  # the page on another origin got neither


async def test_pagination_needs_json_answers_and_named_records(base):
    with pytest.raises(NodeUserError, match="pagination reads JSON answers"):
        await call({"url": f"{base}/pages", "pagination": "next_url", "response_format": "text"})
    with pytest.raises(NodeUserError, match="has no field 'rows'"):
        await call({"url": f"{base}/pages", "pagination": "next_url", "records_field": "rows"})
    with pytest.raises(NodeUserError, match="the answer is not a list"):
        await call({"url": f"{base}/pages", "pagination": "page_number"})
