"""The team's notification channels and rules, in the Notifications tab of /settings."""

import reflex as rx

from ui.components.sections import field, form_error, loading_or, section
from ui.state.auth import AuthState
from ui.state.notification_rules import ALL_WORKFLOWS, KINDS, TRIGGERS
from ui.state.notification_rules import NotificationRulesState as S

_WIDE = "360px"


def _select(name: str, label: str, options, value=None, on_change=None, **props) -> rx.Component:
    return rx.el.select(*options, name=name, aria_label=label, value=value, on_change=on_change,
                        style={"padding": "6px", "borderRadius": "6px", "minWidth": "220px",
                               "border": f"1px solid {rx.color('gray', 7)}"}, **props)


def _channel_form() -> rx.Component:
    url_hint = ("Slack or Teams: the channel's incoming webhook URL. Signed webhook: your endpoint (each "
                "request is signed, see the README).")
    return rx.form(
        rx.vstack(
            field("Channel name", rx.input(name="name", aria_label="Channel name", max_length=100, width=_WIDE)),
            field("Kind", _select("kind", "Channel kind",
                                  [rx.el.option(label, value=value) for value, label in KINDS.items()],
                                  value=S.kind, on_change=S.set_kind)),
            rx.cond((S.kind == "slack") | (S.kind == "teams") | (S.kind == "webhook"),
                    field("Webhook URL", rx.input(name="url", type="password", aria_label="Webhook URL",
                                                  max_length=2000, width=_WIDE, auto_complete="off"), url_hint)),
            rx.cond(S.kind == "webhook",
                    field("Signing secret", rx.input(name="signing_secret", type="password", width=_WIDE,
                                                     aria_label="Signing secret", auto_complete="off"),
                          "At least 16 characters; used for the HMAC-SHA256 signature.")),
            rx.cond(S.kind == "email",
                    field("Recipients", rx.input(name="recipients", aria_label="Recipients", width=_WIDE,
                                                 placeholder="ops@example.com, oncall@example.com"))),
            form_error(S.channel_error),
            rx.button("Add channel", type="submit", loading=S.saving),
            spacing="3", align="start",
        ),
        on_submit=S.create_channel, reset_on_submit=True,
    )


def _channel_row(channel) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(channel["name"], weight="medium", size="2")),
        rx.table.cell(rx.text(channel["kind"], size="2")),
        rx.table.cell(rx.text(channel["secrets"], size="2", color=rx.color("gray", 10))),
        rx.table.cell(rx.cond(AuthState.can_edit, rx.hstack(
            rx.button("Send test", size="1", variant="soft", aria_label="Send test to " + channel["name"].to(str),
                      on_click=S.send_test(channel["id"], channel["name"])),
            rx.button("Delete", size="1", variant="soft", color_scheme="red",
                      aria_label="Delete channel " + channel["name"].to(str), on_click=S.delete_channel(channel["id"])),
            justify="end")), text_align="right"),
        align="center", data_testid="channel-row",
    )


def _rule_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            field("Rule name", rx.input(name="name", aria_label="Rule name", max_length=100, width=_WIDE)),
            field("When", _select("trigger", "Rule trigger",
                                  [rx.el.option(label, value=value) for value, label in TRIGGERS.items()],
                                  value=S.trigger, on_change=S.set_trigger)),
            rx.cond(S.trigger == "long_run",
                    field("Threshold (seconds)", rx.input(name="threshold_s", aria_label="Threshold seconds",
                                                          width="160px", input_mode="numeric"))),
            field("Workflow", _select("workflow_id", "Rule workflow", [
                rx.el.option("All workflows of the team", value=ALL_WORKFLOWS),
                rx.foreach(S.workflows, lambda w: rx.el.option(w["name"], value=w["id"]))])),
            field("Channel", _select("channel_id", "Rule channel", [
                rx.foreach(S.channels, lambda c: rx.el.option(c["name"], value=c["id"]))])),
            field("Quiet window (seconds)", rx.input(name="window_s", aria_label="Window seconds", width="160px",
                                                     default_value="600", input_mode="numeric"),
                  "One message per burst: repeats inside the window are counted into the next message."),
            form_error(S.rule_error),
            rx.button("Add rule", type="submit", loading=S.saving),
            spacing="3", align="start",
        ),
        on_submit=S.create_rule, reset_on_submit=False,
    )


def _rule_row(rule) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(rule["name"], weight="medium", size="2")),
        rx.table.cell(rx.text(rule["trigger"], size="2")),
        rx.table.cell(rx.text(rule["workflow"], size="2")),
        rx.table.cell(rx.text(rule["channel"], size="2")),
        rx.table.cell(rx.text(rule["window"], size="2")),
        rx.table.cell(rx.badge(rule["enabled"], color_scheme=rx.cond(rule["enabled"] == "on", "green", "gray"))),
        rx.table.cell(rx.cond(AuthState.can_edit, rx.hstack(
            rx.button(rx.cond(rule["enabled"] == "on", "Pause", "Resume"), size="1", variant="soft",
                      aria_label="Pause or resume rule " + rule["name"].to(str),
                      on_click=S.toggle_rule(rule["id"], rule["enabled"])),
            rx.button("Delete", size="1", variant="soft", color_scheme="red",
                      aria_label="Delete rule " + rule["name"].to(str), on_click=S.delete_rule(rule["id"])),
            justify="end")), text_align="right"),
        align="center", data_testid="rule-row",
    )


def _table(headers: tuple[str, ...], rows, render) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
        rx.table.body(rx.foreach(rows, render)), variant="surface", width="100%")


def team_notifications() -> rx.Component:
    channels = rx.vstack(
        rx.cond(S.channels.length() > 0, _table(("Name", "Kind", "Secrets set", ""), S.channels, _channel_row),
                rx.text("No channels yet.", size="2", color=rx.color("gray", 10))),
        rx.cond(S.test_result != "", rx.text(S.test_result, size="2", data_testid="channel-test-result")),
        rx.cond(AuthState.can_edit, _channel_form()),
        spacing="3", width="100%")
    rules = rx.vstack(
        rx.cond(S.rules.length() > 0, _table(("Name", "When", "Workflow", "Channel", "Window", "State", ""), S.rules,
                                                    _rule_row),
                rx.text("No rules yet.", size="2", color=rx.color("gray", 10))),
        rx.cond(AuthState.can_edit, _rule_form()),
        spacing="3", width="100%")
    return rx.vstack(
        section("Channels", "Where the team's notifications go. Webhook URLs and secrets are stored encrypted "
                            "and never shown again.", loading_or(S.loaded, S.error, S.load, channels)),
        section("Rules", "When to notify: per workflow or for all of them, one message per burst with a count.",
                loading_or(S.loaded, S.error, S.load, rules)),
        spacing="4", width="100%")
