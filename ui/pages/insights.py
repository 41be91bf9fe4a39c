"""/insights: how the team's workflows did over 24 hours, 7 or 30 days, against the period before; the busiest,
failing and slowest workflows, with the minutes each successful run saves, and a way into their executions."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState
from ui.state.insights import InsightsState

BARS = (("succeeded", "var(--green-9)"), ("failed", "var(--red-9)"))


def _period() -> rx.Component:
    return rx.segmented_control.root(
        *[rx.segmented_control.item(label, value=label) for label in ("24h", "7d", "30d")],
        value=InsightsState.period, on_change=InsightsState.set_period, aria_label="Period",
    )


def _card(card) -> rx.Component:
    return rx.card(rx.vstack(
        rx.text(card["label"], size="2", color=rx.color("gray", 11)),
        rx.heading(card["value"], size="6", data_testid="value"),
        rx.text(rx.cond(card["change"] != "", rx.fragment(card["change"], " vs "), "nothing to compare with in the "),
                InsightsState.compared_with, size="1",
                color=rx.match(card["tone"], ("green", rx.color("green", 11)), ("red", rx.color("red", 11)),
                               rx.color("gray", 10)), data_testid="change"),
        spacing="1"), width="100%", data_testid=card["test_id"])


def _chart() -> rx.Component:
    s = InsightsState
    return rx.card(rx.vstack(
        rx.text(rx.cond(s.granularity == "hour", "Executions per hour", "Executions per day"), weight="medium",
                size="2"),
        rx.recharts.bar_chart(
            *[rx.recharts.bar(data_key=key, stack_id="status", fill=fill, name=key, is_animation_active=False)
              for key, fill in BARS],
            rx.recharts.x_axis(data_key="label", min_tick_gap=16, font_size=11),
            rx.recharts.y_axis(allow_decimals=False, width=40, font_size=11),
            rx.recharts.graphing_tooltip(),
            rx.recharts.legend(icon_size=10),
            data=s.chart, width="100%", height=240,
        ),
        rx.cond(s.webhook != "", rx.text(s.webhook, size="1", color=rx.color("gray", 11),
                                         data_testid="webhook-latency")),
        spacing="2", width="100%"), width="100%", data_testid="chart-executions")


def _failures() -> rx.Component:
    s = InsightsState
    return rx.card(rx.vstack(
        rx.text("Where runs failed", weight="medium", size="2"),
        rx.cond(s.failures.length() > 0,
                rx.vstack(rx.foreach(s.failures, lambda f: rx.hstack(
                    rx.text(f["node"], size="2", weight="medium"), rx.text(f["workflow"], size="2",
                                                                           color=rx.color("gray", 11)),
                    rx.spacer(), rx.badge(f["count"], color_scheme="red", variant="soft"),
                    width="100%", align="center", data_testid="insights-failure")), spacing="1", width="100%"),
                rx.text("No failures in this period", size="2", color=rx.color("gray", 10))),
        spacing="2", width="100%"), width="100%")


def _header(label: str, key: str) -> rx.Component:
    s = InsightsState
    arrow = rx.cond(s.sort == key, rx.cond(s.direction == "desc", rx.icon("arrow_down", size=12),
                                           rx.icon("arrow_up", size=12)), rx.icon("arrow_up_down", size=12))
    return rx.table.column_header_cell(rx.button(
        label, arrow, variant="ghost", size="1", color_scheme="gray", high_contrast=True,
        on_click=s.sort_by(key), aria_label=f"Sort by {label.lower()}",
        aria_sort=rx.cond(s.sort == key, rx.cond(s.direction == "desc", "descending", "ascending"), "none")))


def _row(row) -> rx.Component:
    s = InsightsState
    executions = f"/executions?workflow_id={row['workflow_id']}&range={s.period}"
    return rx.table.row(
        rx.table.cell(rx.cond(row["linkable"] != "",
                              rx.link(row["name"], href=executions, weight="medium",
                                      aria_label=f"Executions of {row['name']}"),
                              rx.text(row["name"], color=rx.color("gray", 11)))),
        rx.table.cell(row["executions"], data_testid="runs"),
        rx.table.cell(rx.cond(row["linkable"] != "",
                              rx.link(row["failures"], href=executions + "&status=failed",
                                      aria_label=f"Failed executions of {row['name']}"),
                              row["failures"]), data_testid="failures"),
        rx.table.cell(row["failure_rate"]),
        rx.table.cell(row["average"]),
        rx.table.cell(row["p95"], data_testid="p95"),
        rx.table.cell(rx.hstack(
            rx.text(row["time_saved"], size="2", data_testid="time-saved"),
            rx.cond(row["minutes_per_run"] != "", rx.text("(", row["minutes_per_run"], " min/run)", size="1",
                                                          color=rx.color("gray", 10))),
            rx.cond(AuthState.can_edit & (row["linkable"] != ""), rx.icon_button(
                rx.icon("pencil", size=12), variant="ghost", size="1",
                aria_label=f"Set time saved per run of {row['name']}",
                on_click=s.edit_time_saved(row["workflow_id"], row["name"], row["minutes_per_run"]))),
            align="center", spacing="2")),
        align="center", data_testid="insights-row", data_workflow_id=row["workflow_id"],
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(
            _header("Workflow", "name"), _header("Runs", "executions"), _header("Failures", "failures"),
            _header("Failure rate", "failure_rate"), _header("Average", "average_ms"), _header("p95", "p95_ms"),
            _header("Time saved", "time_saved_minutes"),
        )),
        rx.table.body(rx.foreach(InsightsState.rows, _row)),
        variant="surface", width="100%", data_testid="insights-table",
    )


def _time_saved_dialog() -> rx.Component:
    s = InsightsState
    chooser = rx.select.root(
        rx.select.trigger(placeholder="Choose a workflow", aria_label="Workflow", width="100%"),
        rx.select.content(rx.foreach(s.workflows, lambda w: rx.select.item(w["name"], value=w["id"]))),
        value=s.editing_id, on_change=s.choose_workflow,
    )
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Time saved per run"),
            rx.dialog.description(rx.text(
                "How many minutes of someone's work one successful production run of ",
                rx.cond(s.editing_name != "", rx.text.strong(s.editing_name), "a workflow"),
                " replaces (manual and test runs do not count). Runs count the value set when they finish. "
                "Leave it empty to stop counting."), size="2"),
            rx.cond(s.picking, rx.box(chooser, margin_top="12px", width="100%")),
            rx.input(value=s.editing_value, on_change=s.set_editing_value, placeholder="e.g. 5", max_length=20,
                     aria_label="Minutes saved per run", margin_top="12px", auto_focus=True),
            rx.cond(s.editing_error != "", rx.text(s.editing_error, size="1", color=rx.color("red", 11),
                                                   role="alert")),
            rx.hstack(
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=s.cancel_edit),
                rx.button("Save", on_click=s.save_time_saved),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=s.editing,
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(AuthState.can_edit, rx.button(rx.icon("timer", size=14), "Time saved per run", variant="soft",
                                              size="2", on_click=InsightsState.pick_time_saved)),
        _period(), spacing="3", align="center")


def _content() -> rx.Component:
    s = InsightsState
    return rx.cond(
        s.loaded,
        rx.cond(
            s.empty,
            empty_state("chart_no_axes_combined", "No executions in this period yet",
                        "When your workflows run (by webhook, schedule or by hand), Insights shows here how many "
                        "ran and failed, how long they took and the time they saved you, against the period "
                        "before. Set the minutes a run of a workflow saves with “Time saved per run” above.",
                        rx.link(rx.button("Go to workflows", variant="soft"), href="/workflows")),
            rx.vstack(
                rx.grid(rx.foreach(s.cards, _card), columns="5", spacing="3", width="100%"),
                _chart(),
                _failures(),
                rx.cond(s.rows.length() > 0, _table(),
                        rx.text("No workflow ran in this period.", size="2", color=rx.color("gray", 10))),
                spacing="4", width="100%",
            ),
        ),
        rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
    )


def page() -> rx.Component:
    return shell("Insights", _content(), _time_saved_dialog(), actions=_actions())


def register(app: rx.App) -> None:
    app.add_page(page, route="/insights", title="Insights · LinkFlow",
                 on_load=[AuthState.require_session, InsightsState.load])
