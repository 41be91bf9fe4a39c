"""The gallery's preview: a workflow's arrangement scaled into a small box, edges between the boxes."""

from ui.editor.minigraph import NODE_H, NODE_W, PAD, layout


def _px(value: str) -> int:
    return int(value.removesuffix("px"))


def test_a_wide_workflow_is_scaled_down_to_fit_and_keeps_its_order():
    nodes = [{"name": f"N{i}", "display_name": "Set", "position": [i * 260, (i % 2) * 160]} for i in range(6)]
    links = [{"from": f"N{i}", "to": f"N{i + 1}"} for i in range(5)]
    boxes, edges = layout(nodes, links, 560, 240)
    lefts = [_px(b["left"]) for b in boxes]
    assert lefts == sorted(lefts) and lefts[0] == PAD and lefts[-1] + NODE_W == 560 - PAD
    assert all(PAD <= _px(b["top"]) <= 240 - NODE_H - PAD for b in boxes)
    assert len(edges) == 5
    assert edges[0] == {"x1": lefts[0] + NODE_W, "y1": _px(boxes[0]["top"]) + NODE_H // 2,
                        "x2": lefts[1], "y2": _px(boxes[1]["top"]) + NODE_H // 2}


def test_a_small_workflow_is_centred_not_blown_up_and_unknown_links_are_dropped():
    nodes = [{"name": "A", "position": [0, 0]}, {"name": "B", "position": [200, 0]}]
    boxes, edges = layout(nodes, [{"from": "A", "to": "B"}, {"from": "A", "to": "Ghost"}], 560, 240)
    assert _px(boxes[1]["left"]) - _px(boxes[0]["left"]) == 200  # scale 1
    assert _px(boxes[0]["top"]) == (240 - NODE_H) // 2
    assert len(edges) == 1
    assert layout([], [], 560, 240) == ([], [])
