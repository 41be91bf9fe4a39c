"""/executions: the team's runs, filtered and searched, live; charts over the chosen range; bulk actions.
/executions/[execution_id]: one run (ui/pages/execution_detail.py)."""

import reflex as rx

from ui.components.execution_status import status_badge
from ui.components.shell import empty_state, shell
from ui.components.ticker import ticker
from ui.executions.view import MODES, STATUSES
from ui.pages import execution_detail
from ui.state.auth import AuthState
from ui.state.executions import ExecutionsState

REFRESH_SECONDS = 4
FINISHED_STATUSES = ("succeeded", "failed")  # what the Insights rollups count
STATUS_FILL = {"succeeded": "var(--green-9)", "failed": "var(--red-9)", "running": "var(--blue-9)",
               "queued": "var(--gray-8)", "waiting": "var(--amber-9)", "cancelled": "var(--orange-7)"}


def _select(label: str, value, on_change, options, everything: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=everything, aria_label=label),
        rx.select.content(rx.select.item(everything, value="__all__"), *options),
        value=rx.cond(value == "", "__all__", value), on_change=on_change,
    )


def _filters() -> rx.Component:
    s = ExecutionsState
    return rx.hstack(
        rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder="Search in execution data",
                 value=s.search, on_change=s.set_search, aria_label="Search in execution data", width="260px",
                 max_length=200),
        rx.select.root(
            rx.select.trigger(placeholder="All workflows", aria_label="Filter by workflow", max_width="200px"),
            rx.select.content(rx.select.item("All workflows", value="__all__"),
                              rx.foreach(s.workflows, lambda w: rx.select.item(w["name"], value=w["id"]))),
            value=rx.cond(s.workflow_id == "", "__all__", s.workflow_id), on_change=s.set_workflow,
        ),
        _select("Filter by status", s.status, s.set_status,
                [rx.select.item(x.capitalize(), value=x) for x in STATUSES], "All statuses"),
        _select("Filter by mode", s.mode, s.set_mode, [rx.select.item(x.capitalize(), value=x) for x in MODES],
                "All modes"),
        rx.segmented_control.root(
            *[rx.segmented_control.item(label, value=label) for label in ("1h", "24h", "7d", "30d")],
            value=s.range_key, on_change=s.set_range, aria_label="Time range",
        ),
        rx.cond(s.filtering, rx.button("Clear", variant="ghost", size="1", on_click=s.clear_filters)),
        spacing="3", align="center", width="100%", wrap="wrap",
    )


def _bars() -> rx.Component:
    return rx.recharts.bar_chart(
        *[rx.recharts.bar(data_key=s, stack_id="status", fill=STATUS_FILL[s], name=s, is_animation_active=False)
          for s in FINISHED_STATUSES],
        rx.recharts.x_axis(data_key="hour", min_tick_gap=24, font_size=11),
        rx.recharts.y_axis(allow_decimals=False, width=32, font_size=11),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(icon_size=10),
        data=ExecutionsState.chart, width="100%", height=220,
    )


def _durations() -> rx.Component:
    return rx.recharts.line_chart(
        rx.recharts.line(data_key="p50", name="p50 (ms)", stroke="var(--accent-9)", dot={"r": 2}, connect_nulls=True,
                         is_animation_active=False),
        rx.recharts.line(data_key="p95", name="p95 (ms)", stroke="var(--red-9)", dot={"r": 2}, connect_nulls=True,
                         is_animation_active=False),
        rx.recharts.x_axis(data_key="hour", min_tick_gap=24, font_size=11),
        rx.recharts.y_axis(width=64, font_size=11),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(icon_size=10),
        data=ExecutionsState.chart, width="100%", height=220,
    )


def _card(title, *children, test_id: str = "") -> rx.Component:
    return rx.card(rx.vstack(rx.text(title, weight="medium", size="2"), *children, spacing="2", width="100%"),
                   width="100%", data_testid=test_id)


def _top_list(items, label, test_id: str) -> rx.Component:
    return rx.cond(
        items.length() > 0,
        rx.vstack(rx.foreach(items, lambda i: rx.hstack(
            rx.text(label(i), size="2", trim="both"), rx.spacer(),
            rx.badge(i["count"], color_scheme="red", variant="soft"), width="100%", data_testid=test_id)),
            spacing="1", width="100%"),
        rx.text("No failures in this range", size="2", color=rx.color("gray", 10)),
    )


def _charts() -> rx.Component:
    s = ExecutionsState
    no_data = rx.center(rx.text("Nothing to chart in this range", size="2", color=rx.color("gray", 10)),
                        height="220px")
    summary = rx.text(rx.cond(s.finished > 0, f"p50 ≤ {s.p50} · p95 ≤ {s.p95} over {s.finished} completed runs",
                              "No completed runs in this range"), size="1", color=rx.color("gray", 11),
                      data_testid="duration-summary")
    return rx.cond(
        s.stats_loaded,
        rx.vstack(
            rx.grid(
                _card(rx.cond(s.chart_granularity == "hour", "Finished executions per hour",
                              "Finished executions per day (UTC)"),
                      rx.cond(s.chart_has_data, _bars(), no_data), test_id="chart-per-hour"),
                _card("Duration", summary, rx.cond(s.finished > 0, _durations(), no_data), test_id="chart-duration"),
                columns="2", spacing="3", width="100%",
            ),
            rx.grid(
                _card("Top failing workflows", _top_list(s.failing_workflows, lambda i: i["name"], "failing-workflow")),
                _card("Top failing nodes", _top_list(
                    s.failing_nodes, lambda i: rx.fragment(i["node_name"], " · ", i["workflow_name"]),
                    "failing-node")),
                columns="2", spacing="3", width="100%",
            ),
            spacing="3", width="100%",
        ),
        rx.center(rx.spinner(size="2"), height="120px", width="100%"),
    )


def _row(row) -> rx.Component:
    s = ExecutionsState
    return rx.table.row(
        rx.cond(AuthState.can_edit, rx.table.cell(
            rx.checkbox(checked=s.selected.contains(row["id"]), on_change=lambda v: s.toggle(row["id"], v),
                        aria_label=f"Select execution {row['short_id']}"),
            on_click=rx.stop_propagation)),
        rx.table.cell(status_badge(row["status"])),
        rx.table.cell(rx.vstack(rx.text(row["workflow"], weight="medium", size="2"),
                                rx.cond(row["error"] != "", rx.text(row["error"], size="1", color=rx.color("red", 11),
                                                                    trim="both", max_width="360px", truncate=True)),
                                spacing="0")),
        rx.table.cell(rx.text(row["mode"], size="2")),
        rx.table.cell(rx.text(row["started"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(rx.text(row["duration"], size="2")),
        rx.table.cell(rx.link(rx.code(row["short_id"]), href=f"/executions/{row['id']}",
                              aria_label=f"Open execution {row['short_id']}")),
        on_click=rx.redirect(f"/executions/{row['id']}"),
        cursor="pointer", align="center", data_testid="execution-row", data_status=row["status"],
        _hover={"background": rx.color("gray", 2)},
    )


def _table() -> rx.Component:
    s = ExecutionsState
    return rx.table.root(
        rx.table.header(rx.table.row(
            rx.cond(AuthState.can_edit, rx.table.column_header_cell(
                rx.checkbox(checked=s.all_selected, on_change=s.toggle_all, aria_label="Select all on this page"),
                width="36px")),
            rx.table.column_header_cell("Status"), rx.table.column_header_cell("Workflow"),
            rx.table.column_header_cell("Mode"), rx.table.column_header_cell("Started (UTC)"),
            rx.table.column_header_cell("Duration"), rx.table.column_header_cell("ID"),
        )),
        rx.table.body(rx.foreach(s.rows, _row)),
        variant="surface", width="100%",
    )


def _pager() -> rx.Component:
    s = ExecutionsState
    return rx.hstack(
        rx.text(s.page_label, size="2", color=rx.color("gray", 11), data_testid="page-label"),
        rx.spacer(),
        rx.button(rx.icon("chevron-left", size=14), "Previous", variant="soft", size="1",
                  disabled=~s.has_previous, on_click=s.previous_page),
        rx.button("Next", rx.icon("chevron-right", size=14), variant="soft", size="1", disabled=~s.has_next,
                  on_click=s.next_page),
        width="100%", align="center",
    )


def _list() -> rx.Component:
    s = ExecutionsState
    return rx.cond(
        s.rows.length() > 0,
        rx.vstack(_table(), _pager(), width="100%", spacing="2"),
        rx.cond(
            s.loaded,
            rx.cond(s.filtering,
                    empty_state("search-x", "No executions match", "Try another search, or clear the filters.",
                                rx.button("Clear filters", variant="soft", on_click=s.clear_filters)),
                    empty_state("list-checks", "No executions in this range",
                                "Runs of your workflows appear here as they happen; try a longer range.")),
            rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
        ),
    )


def _bulk_actions() -> rx.Component:
    s = ExecutionsState
    nothing = s.selected.length() == 0
    return rx.cond(
        AuthState.can_edit,
        rx.hstack(
            rx.cond(~nothing, rx.text(s.selected.length(), " selected", size="2", color=rx.color("gray", 11))),
            rx.button(rx.icon("rotate-ccw", size=14), "Retry selected", variant="soft", size="2",
                      disabled=nothing | s.busy, on_click=s.bulk_retry),
            rx.button(rx.icon("trash-2", size=14), "Delete selected", color_scheme="red", variant="soft", size="2",
                      disabled=nothing | s.busy, on_click=s.set_confirm_delete(True)),
            spacing="2", align="center",
        ),
    )


def _delete_dialog() -> rx.Component:
    s = ExecutionsState
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete executions?"),
            rx.alert_dialog.description(rx.text(
                s.selected.length(), " selected executions, their steps and their data will be deleted. "
                "Running ones are skipped.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=s.set_confirm_delete(False))),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=s.bulk_delete)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=s.confirm_delete,
    )


def page() -> rx.Component:
    s = ExecutionsState
    live = rx.cond(s.refresh_error != "",
                   rx.callout(s.refresh_error, icon="wifi-off", color_scheme="amber", size="1"))
    return shell("Executions", _filters(), _charts(), live, _list(), _delete_dialog(),
                 ticker(seconds=REFRESH_SECONDS, on_tick=s.tick), actions=_bulk_actions())


def register(app: rx.App) -> None:
    app.add_page(page, route="/executions", title="Executions · LinkFlow",
                 on_load=[AuthState.require_session, ExecutionsState.load])
    execution_detail.register(app)
