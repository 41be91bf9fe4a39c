"""A workflow's graph scaled into a small box: the templates gallery's preview (no React Flow needed)."""

from __future__ import annotations

NODE_W, NODE_H = 120, 34
PAD = 8


def layout(nodes: list[dict], connections: list[dict], width: int, height: int) -> tuple[list[dict], list[dict]]:
    """(boxes, edges) in pixels of a ``width`` × ``height`` box, keeping the editor's arrangement.

    ``nodes``: {name, display_name, icon, position: [x, y]}; ``connections``: {from, to} by node name.
    Boxes: {name, display_name, icon, left, top}; edges: {x1, y1, x2, y2} from an output's right edge to
    an input's left edge. Positions are scaled down (never up), so a wide workflow still fits.
    """
    if not nodes:
        return [], []
    xs = [float(n["position"][0]) for n in nodes]
    ys = [float(n["position"][1]) for n in nodes]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    room_x, room_y = width - NODE_W - 2 * PAD, height - NODE_H - 2 * PAD
    scale = min(1.0, room_x / span_x if span_x else 1.0, room_y / span_y if span_y else 1.0)
    offset_x = PAD + (room_x - span_x * scale) / 2
    offset_y = PAD + (room_y - span_y * scale) / 2
    boxes, where = [], {}
    for node, x, y in zip(nodes, xs, ys, strict=True):
        left, top = round(offset_x + (x - min(xs)) * scale), round(offset_y + (y - min(ys)) * scale)
        where[node["name"]] = (left, top)
        boxes.append({"name": node["name"], "display_name": node.get("display_name", ""),
                      "icon": node.get("icon", "box"), "left": f"{left}px", "top": f"{top}px"})
    edges = []
    for link in connections:
        if link.get("from") in where and link.get("to") in where:
            (x1, y1), (x2, y2) = where[link["from"]], where[link["to"]]
            edges.append({"x1": x1 + NODE_W, "y1": y1 + NODE_H // 2, "x2": x2, "y2": y2 + NODE_H // 2})
    return boxes, edges
