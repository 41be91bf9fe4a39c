import pytest

from nodes.builtin.html_node import Html
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context, run_node

PAGE = """<html><head><title>Shop</title><script>document.write("<p class='price'>9</p>")</script></head>
<body>
  <h1 class="title main">  Winter
     sale </h1>
  <ul><li class="price" data-sku="a">10 €</li><li class="price" data-sku="b">20 €</li><li>none</li></ul>
  <a href="/next?page=2">next</a>
</body></html>"""


async def html(extract, data=PAGE, **params):
    out = await run_node(Html, [{"json": {"data": data, "keep": 1}}], params={"extract": extract, **params})
    return out["main"][0]["json"]


async def test_text_html_attributes_first_or_all_matches():
    got = await html([{"key": "title", "selector": "h1"},
                      {"key": "prices", "selector": "li.price", "all": True},
                      {"key": "skus", "selector": "li[data-sku]", "returns": "attribute", "attribute": "data-sku",
                       "all": True},
                      {"key": "link.href", "selector": "a", "returns": "attribute", "attribute": "href"},
                      {"key": "classes", "selector": "h1", "returns": "attribute", "attribute": "class"},
                      {"key": "first", "selector": "ul li:nth-child(2)", "returns": "html"},
                      {"key": "missing", "selector": "table td"},
                      {"key": "none", "selector": "table td", "all": True}])
    assert got == {"data": PAGE, "keep": 1, "title": "Winter sale", "prices": ["10 €", "20 €"], "skus": ["a", "b"],
                   "link": {"href": "/next?page=2"}, "classes": "title main",
                   "first": '<li class="price" data-sku="b">20 €</li>', "missing": None, "none": []}


async def test_scripts_are_not_run_and_untrimmed_text_is_kept():
    got = await html([{"key": "prices", "selector": "p.price", "all": True},
                      {"key": "title", "selector": "h1"}], trim=False)
    assert got["prices"] == [] and got["title"] == "  Winter\n     sale "


async def test_a_page_from_a_file_the_item_carries():
    ctx = FakeContext(Html, {"source": "binary", "extract": [{"key": "t", "selector": "title"}]})
    ref = await ctx.put_binary(PAGE.encode("cp1252", errors="replace"), mime_type="text/html")
    out = await run_context(Html, ctx, [{"json": {}, "binary": {"data": ref}}])
    assert out["main"][0]["json"] == {"t": "Shop"} and out["main"][0]["binary"]["data"] == ref


async def test_bad_selectors_and_sources_are_user_errors():
    with pytest.raises(NodeUserError, match="is not a CSS selector"):
        await html([{"key": "x", "selector": "li[[["}])
    with pytest.raises(NodeUserError, match="name it in 'attribute'"):
        await html([{"key": "x", "selector": "a", "returns": "attribute"}])
    with pytest.raises(NodeUserError, match="holds int, not HTML text"):
        await html([{"key": "x", "selector": "a"}], data=3)
    with pytest.raises(NodeUserError, match="no binary data 'data'"):
        await run_node(Html, [{"json": {}}], params={"source": "binary", "extract": [{"key": "x", "selector": "a"}]})
