"""/templates: the gallery of ready-made workflows (its own page, so other pages do not load it)."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.editor.minigraph import NODE_H, NODE_W
from ui.state.auth import AuthState
from ui.state.templates import ALL, PREVIEW_H, PREVIEW_W, TemplatesState


def _filters() -> rx.Component:
    return rx.hstack(
        rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder="Search templates",
                 value=TemplatesState.search, on_change=TemplatesState.set_search.debounce(250),
                 aria_label="Search templates", width="320px"),
        rx.select.root(
            rx.select.trigger(placeholder="All categories", aria_label="Filter by category"),
            rx.select.content(rx.select.item("All categories", value=ALL),
                              rx.foreach(TemplatesState.categories, lambda c: rx.select.item(c, value=c))),
            value=rx.cond(TemplatesState.category == "", ALL, TemplatesState.category),
            on_change=TemplatesState.set_category,
        ),
        spacing="3", align="center", width="100%",
    )


def _card(card) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.heading(card["name"], size="3", as_="h3"), rx.spacer(),
                      rx.badge(card["category"], variant="soft", radius="full"), width="100%", align="start"),
            rx.text(card["description"], size="2", color=rx.color("gray", 11)),
            rx.text(card["nodes"], size="1", color=rx.color("gray", 10)),
            rx.cond(card["needs"] != "", rx.text("Credentials to pick: ", card["needs"], size="1",
                                                 color=rx.color("amber", 11))),
            rx.button("Preview", variant="soft", size="2", on_click=TemplatesState.preview(card["id"]),
                      aria_label=f"Preview {card['name']}", margin_top="auto"),
            spacing="2", height="100%",
        ),
        data_testid="template-card",
    )


def _box(box) -> rx.Component:
    return rx.box(
        rx.text(box["name"], size="1", weight="medium", trim="both", white_space="nowrap", overflow="hidden",
                text_overflow="ellipsis"),
        rx.text(box["display_name"], size="1", color=rx.color("gray", 10), white_space="nowrap",
                overflow="hidden", text_overflow="ellipsis", font_size="10px"),
        position="absolute", left=box["left"], top=box["top"], width=f"{NODE_W}px", min_height=f"{NODE_H}px",
        padding="2px 8px", border=f"1px solid {rx.color('gray', 7)}", border_radius="6px",
        background=rx.color("gray", 1), data_testid="template-node",
    )


def _graph() -> rx.Component:
    lines = rx.el.svg(
        rx.foreach(TemplatesState.edges, lambda e: rx.el.line(
            x1=e["x1"], y1=e["y1"], x2=e["x2"], y2=e["y2"], stroke="currentColor", stroke_width="1.5")),
        width=str(PREVIEW_W), height=str(PREVIEW_H), position="absolute", left="0", top="0",
        color=rx.color("gray", 8),
    )
    return rx.box(lines, rx.foreach(TemplatesState.boxes, _box), position="relative", width=f"{PREVIEW_W}px",
                  height=f"{PREVIEW_H}px", background=rx.color("gray", 2), border_radius="8px",
                  aria_label="Template preview", role="img")


def _preview() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(TemplatesState.chosen["name"]),
            rx.dialog.description(TemplatesState.chosen["description"], size="2", margin_bottom="12px"),
            _graph(),
            rx.cond(TemplatesState.needs.length() > 0, rx.vstack(
                rx.text("Credentials you pick after creating it:", size="2", weight="medium"),
                rx.foreach(TemplatesState.needs, lambda n: rx.text(n, size="2", data_testid="template-need")),
                spacing="1", margin_top="12px")),
            rx.hstack(
                rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                rx.cond(AuthState.can_edit,
                        rx.button("Use template", on_click=TemplatesState.use, loading=TemplatesState.using),
                        rx.text("Editors of this team create workflows.", size="2", color=rx.color("gray", 10))),
                justify="end", spacing="3", margin_top="16px", width="100%",
            ),
            max_width="620px",
        ),
        open=TemplatesState.chosen_id != "",
        on_open_change=TemplatesState.close_preview,
    )


def _content() -> rx.Component:
    return rx.cond(
        TemplatesState.cards.length() > 0,
        rx.grid(rx.foreach(TemplatesState.cards, _card), columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                spacing="4", width="100%"),
        rx.cond(TemplatesState.loaded,
                empty_state("search-x", "No templates match", "Try other words or all categories."),
                rx.center(rx.spinner(size="3"), padding="64px", width="100%")),
    )


def page() -> rx.Component:
    return shell("Templates", _filters(), _content(), _preview())


def register(app: rx.App) -> None:
    app.add_page(page, route="/templates", title="Templates · LinkFlow",
                 on_load=[AuthState.require_session, TemplatesState.load])
