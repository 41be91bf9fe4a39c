import pytest

from nodes.builtin.xml_node import Xml
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ORDER = """<?xml version="1.0"?>
<order id="7" xmlns="urn:shop">
  <customer>Ada</customer>
  <line sku="a">2</line>
  <line sku="b">3</line>
  <note>fragile <b>glass</b></note>
</order>"""


async def xml(data, **params):
    out = await run_node(Xml, [{"json": {"data": data, "keep": 1}}], params=params)
    return out["main"][0]["json"]


async def test_parse_attributes_text_repeated_tags_and_namespaces():
    parsed = (await xml(ORDER))["data"]
    assert parsed == {"order": {"@id": "7", "customer": "Ada",
                                "line": [{"@sku": "a", "#text": "2"}, {"@sku": "b", "#text": "3"}],
                                "note": {"b": "glass", "#text": "fragile"}}}


async def test_build_is_the_reverse_and_keeps_the_other_fields():
    built = await xml({"order": {"@id": "7", "customer": "Ada & Bob", "line": [{"@sku": "a", "#text": 2}, "x"],
                              "paid": True, "gift": None}}, operation="build")
    assert built["keep"] == 1
    assert built["data"] == ('<?xml version="1.0" encoding="UTF-8"?>\n<order id="7">\n  <customer>Ada &amp; Bob'
                             '</customer>\n  <line sku="a">2</line>\n  <line>x</line>\n  <paid>true</paid>\n'
                             '  <gift />\n</order>')
    round_trip = await xml(built["data"])
    assert round_trip["data"]["order"]["line"] == [{"@sku": "a", "#text": "2"}, "x"]


async def test_build_wraps_several_keys_in_the_root_and_refuses_bad_names():
    assert (await xml({"a": 1, "b": 2}, operation="build", pretty=False, declaration=False))["data"] == (
        "<root><a>1</a><b>2</b></root>")
    with pytest.raises(NodeUserError, match="cannot be an XML name"):
        await xml({"bad name": 1}, operation="build")
    with pytest.raises(NodeUserError, match="needs a JSON object"):
        await xml("text", operation="build")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol9;</lolz>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<data>&secret;</data>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE data SYSTEM "http://127.0.0.1:1/evil.dtd">
<data>x</data>"""


@pytest.mark.parametrize("attack", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "external-dtd"])
async def test_entity_expansion_and_external_entities_are_refused(attack):
    with pytest.raises(NodeUserError, match="refused: it declares a DTD") as refused:
        await xml(attack)
    assert "root:" not in str(refused.value) and "lol" not in str(refused.value)


async def test_bad_xml_missing_fields_and_deep_nesting_are_user_errors():
    with pytest.raises(NodeUserError, match="not well-formed XML"):
        await xml("<a><b></a>")
    with pytest.raises(NodeUserError, match="holds int, not XML text"):
        await xml(5)
    with pytest.raises(NodeUserError, match="has no field 'missing'"):
        await xml("<a/>", source_field="missing")
    with pytest.raises(NodeUserError, match="more than 200 elements deep"):
        await xml("<a>" * 300 + "</a>" * 300)
