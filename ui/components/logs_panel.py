"""The editor's bottom panel: Logs (the current run's node timeline) and Executions (this workflow's runs)."""

from __future__ import annotations

import reflex as rx

from ui.components.execution_status import status_badge
from ui.state.logs import LogsState
from ui.state.run import RunState

BORDER = f"1px solid {rx.color('gray', 5)}"


def _timeline() -> rx.Component:
    return rx.cond(
        RunState.timeline.length() == 0,
        rx.text("No run yet: press Run (or pick one under Executions) to see each node's start, duration, items "
                "and errors.", size="1", color=rx.color("gray", 10)),
        rx.vstack(rx.foreach(RunState.timeline, lambda step: rx.hstack(
            rx.text(step["name"], size="1", weight="medium", width="160px", overflow="hidden",
                    text_overflow="ellipsis", white_space="nowrap"),
            status_badge(step["status"]),
            rx.text(step["start"], size="1", color=rx.color("gray", 10), width="70px"),
            rx.text(step["duration"], size="1", width="60px"),
            rx.text(step["items"], size="1", width="60px"),
            rx.box(rx.box(position="absolute", left=step["bar_left"], width=step["bar_width"], top="3px",
                          height="8px", border_radius="4px",
                          background=rx.cond(step["status"] == "failed", rx.color("red", 9), rx.color("green", 9))),
                   position="relative", height="14px", flex="1", min_width="80px", background=rx.color("gray", 3),
                   border_radius="4px"),
            rx.text(step["error"], size="1", color=rx.color("red", 11), flex="2", white_space="pre-wrap",
                    word_break="break-word"),
            align="center", spacing="3", width="100%", data_testid="log-row")),
            spacing="1", width="100%"),
    )


def _executions() -> rx.Component:
    return rx.cond(
        LogsState.executions.length() == 0,
        rx.text("This workflow has not run yet.", size="1", color=rx.color("gray", 10)),
        rx.vstack(rx.foreach(LogsState.executions, lambda e: rx.hstack(
            rx.code(e["short_id"], size="1", variant="ghost"), status_badge(e["status"]),
            rx.text(e["mode"], size="1", width="70px"), rx.text(e["started"], size="1", width="150px"),
            rx.text(e["duration"], size="1", width="70px"),
            rx.text(e["error"], size="1", color=rx.color("red", 11), flex="1", overflow="hidden",
                    text_overflow="ellipsis", white_space="nowrap"),
            rx.button("Show", size="1", variant="soft", on_click=LogsState.show(e["id"]),
                      aria_label="Show execution " + e["short_id"]),
            align="center", spacing="3", width="100%", data_testid="execution-row")),
            spacing="1", width="100%"),
    )


def logs_panel() -> rx.Component:
    return rx.cond(LogsState.open, rx.box(
        rx.tabs.root(
            rx.hstack(
                rx.tabs.list(rx.tabs.trigger("Logs", value="logs"), rx.tabs.trigger("Executions", value="executions")),
                rx.spacer(),
                rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", color_scheme="gray",
                               aria_label="Close logs", on_click=LogsState.toggle),
                align="center", width="100%",
            ),
            rx.box(rx.tabs.content(_timeline(), value="logs"), rx.tabs.content(_executions(), value="executions"),
                   padding="8px 4px", overflow="auto", height="180px"),
            value=LogsState.tab, on_change=LogsState.set_tab, width="100%",
        ),
        position="absolute", left="0", right="0", bottom="0", z_index="12", padding="6px 12px",
        background=rx.color("gray", 1), border_top=BORDER, box_shadow="0 -6px 18px rgba(16,24,40,0.08)",
        role="region", aria_label="Logs and executions",
    ))
