"""/audit: who did what and when in this team — filterable, paged, exportable (team admins and owners)."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.audit import ANY, RANGE_LABELS, TARGET_TYPES, AuditState
from ui.state.auth import AuthState


def _select(label: str, value, on_change, any_label: str, items) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=any_label, aria_label=label, min_width="160px"),
        rx.select.content(rx.select.item(any_label, value=ANY), *items),
        value=value, on_change=on_change,
    )


def _filters() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _select("Filter by actor", AuditState.actor, AuditState.set_actor, "Anyone",
                    [rx.foreach(AuditState.actors, lambda a: rx.select.item(a["label"], value=a["id"]))]),
            _select("Filter by action", AuditState.action, AuditState.set_action, "Any action",
                    [rx.foreach(AuditState.actions, lambda a: rx.select.item(a, value=a))]),
            _select("Filter by target type", AuditState.target_type, AuditState.set_target_type, "Any target",
                    [rx.select.item(t, value=t) for t in TARGET_TYPES]),
            rx.input(placeholder="Target id", value=AuditState.target_id, on_change=AuditState.set_target_id,
                     debounce_timeout=400, aria_label="Filter by target id", width="220px"),
            spacing="3", align="center", wrap="wrap",
        ),
        rx.hstack(
            rx.segmented_control.root(*(rx.segmented_control.item(label, value=value) for value, label in RANGE_LABELS),
                                      value=AuditState.time_range, on_change=AuditState.set_time_range,
                                      aria_label="Time range"),
            rx.cond(AuditState.filtering,
                    rx.button(rx.icon("x", size=14), "Clear filters", variant="ghost", size="2",
                              on_click=AuditState.clear_filters)),
            rx.spacer(),
            rx.cond(AuditState.loading, rx.spinner(size="2")),
            spacing="3", align="center", width="100%",
        ),
        spacing="3", width="100%",
    )


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(row["when"], size="2", color=rx.color("gray", 11), white_space="nowrap")),
        rx.table.cell(rx.code(row["action"], variant="ghost")),
        rx.table.cell(rx.text(row["actor"], size="2")),
        rx.table.cell(rx.text(row["target"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(rx.text(row["ip"], size="1", color=rx.color("gray", 10))),
        rx.table.cell(rx.button("Details", variant="ghost", size="1", on_click=AuditState.show(row["json"]),
                                aria_label=f"Details of {row['action']} at {row['when']}"), text_align="right"),
        align="center", data_testid="audit-row",
    )


def _table() -> rx.Component:
    return rx.vstack(
        rx.table.root(
            rx.table.header(rx.table.row(*(rx.table.column_header_cell(h)
                                           for h in ("Time (UTC)", "Action", "Actor", "Target", "IP", "")))),
            rx.table.body(rx.foreach(AuditState.rows, _row)),
            variant="surface", width="100%",
        ),
        rx.hstack(
            rx.text(AuditState.page_label, size="2", color=rx.color("gray", 11), data_testid="audit-total"),
            rx.spacer(),
            rx.button(rx.icon("chevron-left", size=14), "Previous", variant="soft", size="2",
                      disabled=~AuditState.has_previous, on_click=AuditState.previous_page),
            rx.button("Next", rx.icon("chevron-right", size=14), variant="soft", size="2",
                      disabled=~AuditState.has_next, on_click=AuditState.next_page),
            align="center", width="100%", spacing="2",
        ),
        width="100%", spacing="3",
    )


def _detail_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Audit entry"),
            rx.box(rx.el.pre(AuditState.detail, style={"margin": 0, "whiteSpace": "pre-wrap",
                                                       "wordBreak": "break-all", "fontSize": "13px"}),
                   background=rx.color("gray", 2), border=f"1px solid {rx.color('gray', 5)}", border_radius="8px",
                   padding="12px", max_height="60vh", overflow="auto", data_testid="audit-detail"),
            rx.hstack(rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")), justify="end",
                      margin_top="12px"),
            max_width="640px",
        ),
        open=AuditState.detail != "",
        on_open_change=AuditState.close_detail,
    )


def _content() -> rx.Component:
    return rx.cond(
        AuditState.rows.length() > 0,
        _table(),
        rx.cond(
            AuditState.loaded,
            rx.cond(AuditState.filtering,
                    empty_state("search-x", "No entries match", "Try a longer time range or clear the filters."),
                    empty_state("scroll-text", "Nothing recorded yet",
                                "Sign-ins and changes to workflows, credentials and members appear here.")),
            rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
        ),
    )


def _forbidden() -> rx.Component:
    return empty_state("lock", "Only team admins can view the audit log",
                       "Ask an owner or admin of this team for access, or switch to a team you administer.")


def page() -> rx.Component:
    export = rx.cond(~AuditState.forbidden,
                     rx.button(rx.icon("download", size=16), "Export CSV", size="2", variant="soft",
                               loading=AuditState.exporting, on_click=AuditState.export_csv))
    body = rx.cond(AuditState.forbidden, _forbidden(), rx.fragment(_filters(), _content(), _detail_dialog()))
    return shell("Audit log", body, actions=export)


def register(app: rx.App) -> None:
    app.add_page(page, route="/audit", title="Audit log · LinkFlow",
                 on_load=[AuthState.require_session, AuditState.open_page])
