import pytest

from nodes.builtin.markdown_node import Markdown
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node


async def convert(text, **params):
    out = await run_node(Markdown, [{"json": {"data": text, "keep": 1}}], params=params)
    return out["main"][0]["json"]


async def test_markdown_to_html_with_tables_and_strikethrough():
    got = await convert("# Title\n\n*a* **b** ~~c~~ [link](https://example.com/x?a=1&b=2)\n\n| x | y |\n|---|---|\n"
                        "| 1 | 2 |\n")
    assert got["keep"] == 1
    assert got["data"] == (
        '<h1>Title</h1>\n<p><em>a</em> <strong>b</strong> <s>c</s> <a href="https://example.com/x?a=1&amp;b=2">'
        'link</a></p>\n<table>\n<thead>\n<tr>\n<th>x</th>\n<th>y</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td>1</td>\n'
        '<td>2</td>\n</tr>\n</tbody>\n</table>\n')


@pytest.mark.parametrize("attack", [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "![x](javascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=//evil></iframe>",
])
async def test_markdown_to_html_output_is_sanitised(attack):
    html = (await convert(f"before\n\n{attack}\n"))["data"]
    lowered = html.lower()
    assert "<script" not in lowered and "<img src=\"x\"" not in lowered and "<iframe" not in lowered
    assert 'href="javascript' not in lowered and 'src="javascript' not in lowered
    assert 'href="vbscript' not in lowered and 'href="data:' not in lowered
    assert " onerror=" not in lowered.replace("&lt;img src=x onerror=", "")  # only escaped text remains


async def test_html_to_markdown_drops_scripts_and_keeps_structure():
    got = await convert("<h2>Sale</h2><p>Buy <b>now</b>: <a href='https://shop.example/x'>here</a></p>"
                        "<ul><li>one</li><li>two</li></ul><script>steal()</script><style>p{}</style>",
                        operation="to_markdown")
    assert got["data"] == "## Sale\n\nBuy **now**: [here](https://shop.example/x)\n\n- one\n- two\n"


async def test_missing_or_non_text_fields_are_user_errors():
    with pytest.raises(NodeUserError, match="has no field 'nope'"):
        await convert("x", source_field="nope")
    with pytest.raises(NodeUserError, match="holds list, not text"):
        await convert(["x"])
