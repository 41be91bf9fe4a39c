"""The node panel beside the canvas: parameters (a form from the node's JSON schema), settings, data."""

import reflex as rx

from ui.components.assets import shared_asset
from ui.state.auth import AuthState
from ui.state.ndv import NdvState
from ui.state.node_panel import NodePanelState
from ui.state.pins import PinState
from ui.state.run import RunState

MONO = "var(--code-font-family)"
BORDER = f"1px solid {rx.color('gray', 5)}"

_TOKENS_SOURCE = shared_asset("expression_tokens.js")  # imported by expression_highlight.jsx
_HIGHLIGHT_SOURCE = shared_asset("expression_highlight.jsx")


class ExpressionHighlight(rx.Component):
    """Colours the {{ }} parts of the value field beside it (expression_highlight.jsx)."""

    library = _HIGHLIGHT_SOURCE.importable_path
    tag = "ExpressionHighlight"

    value: rx.Var[str]


def _highlighted(field: rx.Component, value) -> rx.Component:
    return rx.box(field, ExpressionHighlight.create(value=value), position="relative", width="100%")


def _label(text, description, required=False) -> rx.Component:
    return rx.vstack(
        rx.text(text, rx.cond(required, rx.text.span(" *", color=rx.color("red", 10))), size="2",
                weight="medium"),
        rx.cond(description != "", rx.text(description, size="1", color=rx.color("gray", 10))),
        spacing="0", width="100%",
    )


def _rows(value) -> rx.Var:
    """Lines a value field shows: one for short values, up to eight for long expressions (then it scrolls)."""
    length = value.length()
    return rx.cond(length > 320, "8", rx.cond(length > 160, "5", rx.cond(length > 40, "3", "1")))


def _input(kind, value, checked, options, placeholder, label, on_change) -> rx.Component:
    """One input for a value of `kind` (see ui.editor.forms)."""
    return rx.match(
        kind,
        ("boolean", rx.switch(checked=checked, on_change=on_change, aria_label=label)),
        ("enum", rx.select.root(
            rx.select.trigger(width="100%", aria_label=label),
            rx.select.content(rx.foreach(options, lambda o: rx.select.item(o["label"], value=o["value"]))),
            value=value, on_change=on_change)),
        ("json", rx.text_area(value=value, on_change=on_change, rows="5", font_family=MONO, size="1",
                              width="100%", aria_label=label, spell_check=False)),
        ("code", rx.text_area(value=value, on_change=on_change, rows="10", font_family=MONO, size="1",
                              width="100%", aria_label=label, spell_check=False)),
        ("text", rx.text_area(value=value, on_change=on_change, rows="4", width="100%", aria_label=label)),
        # A value or an expression: grows with its text (to 8 lines, then scrolls), so nothing is cut off.
        ("any", _highlighted(rx.text_area(value=value, on_change=on_change, placeholder=placeholder,
                                          rows=_rows(value), width="100%", aria_label=label, spell_check=False,
                                          resize="vertical", font_family=rx.cond(value.contains("{{"), MONO,
                                                                                 "inherit")), value)),
        _highlighted(rx.input(value=value, on_change=on_change, placeholder=placeholder, width="100%",
                              aria_label=label, font_family=rx.cond(value.contains("{{"), MONO, "inherit")),
                     value),
    )


def _preview(spec) -> rx.Component:
    """Under a value in expression mode: what it evaluates to for the last input, or why it fails."""
    return rx.cond(
        spec.value.contains("{{"),
        rx.box(
            rx.cond(spec.preview_error != "",
                    rx.text("⚠ ", spec.preview_error, size="1", color=rx.color("red", 11)),
                    rx.text(rx.text.span("= ", color=rx.color("gray", 9)), spec.preview, size="1",
                            font_family=MONO, white_space="pre-wrap", word_break="break-all")),
            rx.cond(NodePanelState.preview_hint != "",
                    rx.text(NodePanelState.preview_hint, size="1", color=rx.color("gray", 9))),
            padding="4px 8px", border_radius="6px", background=rx.color("gray", 3), width="100%",
            max_height="120px", overflow="auto", data_testid="expression-preview",
        ),
    )


def _collection(field) -> rx.Component:
    def row(cells, index) -> rx.Component:
        return rx.box(
            rx.vstack(
                rx.foreach(cells, lambda sub: rx.cond(sub.visible, rx.vstack(
                    rx.text(sub.label, rx.cond(sub.required, rx.text.span(" *", color=rx.color("red", 10))),
                            size="1", weight="medium", color=rx.color("gray", 11)),
                    _input(sub.kind, sub.value, sub.checked, sub.choices, sub.placeholder,
                           f"{field.label} {index + 1} {sub.label}",
                           lambda v: NodePanelState.set_item(field.key, index, sub.key, v)),
                    _preview(sub),
                    spacing="1", width="100%",
                ))),
                spacing="2", width="100%",
            ),
            rx.icon_button(rx.icon("x", size=12), size="1", variant="ghost", color_scheme="gray",
                           position="absolute", top="6px", right="6px",
                           aria_label=f"Remove {field.item_label} {index + 1}",
                           on_click=NodePanelState.remove_item(field.key, index)),
            position="relative", padding="10px 28px 10px 10px", border=BORDER, border_radius="8px", width="100%",
            background=rx.color("gray", 2),
        )

    return rx.vstack(
        rx.foreach(field.rows, row),
        rx.button(rx.icon("plus", size=14), "Add ", field.item_label, size="1", variant="soft",
                  on_click=NodePanelState.add_item(field.key), aria_label=f"Add to {field.label}"),
        spacing="2", width="100%",
    )


def _field(field) -> rx.Component:
    return rx.cond(field.visible, _shown_field(field))


def _shown_field(field) -> rx.Component:
    return rx.vstack(
        _label(field.label, field.description, field.required),
        rx.cond(field.kind == "collection", _collection(field),
                _input(field.kind, field.value, field.checked, field.choices, field.placeholder, field.label,
                       lambda v: NodePanelState.set_param(field.key, v))),
        rx.cond(field.kind != "collection", _preview(field)),
        rx.cond(field.error != "", rx.text(field.error, size="1", color=rx.color("red", 11), role="alert")),
        spacing="1", width="100%", data_testid="param-field",
    )


def _url_row(label: str, url) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", weight="medium", color=rx.color("gray", 11)),
        rx.hstack(
            rx.code(url, size="1", variant="ghost", white_space="nowrap", overflow="hidden",
                    text_overflow="ellipsis", flex="1", data_testid=label.lower().replace(" ", "-")),
            rx.icon_button(rx.icon("copy", size=12), size="1", variant="ghost", aria_label=f"Copy {label}",
                           on_click=[rx.set_clipboard(url), rx.toast("Copied")]),
            align="center", width="100%",
        ),
        spacing="1", width="100%",
    )


def _webhook_urls() -> rx.Component:
    return rx.cond(
        NodePanelState.production_url != "",
        rx.vstack(_url_row("Production URL", NodePanelState.production_url),
                  _url_row("Test URL", NodePanelState.test_url),
                  rx.text("The production URL works while the workflow is active.", size="1",
                          color=rx.color("gray", 10)),
                  rx.cond(AuthState.can_edit, _listen()),
                  spacing="2", padding="10px", border_radius="8px", background=rx.color("accent", 2),
                  border=f"1px solid {rx.color('accent', 5)}", width="100%"),
    )


def _vendor_status() -> rx.Component:
    """A vendor trigger's webhook at GitHub/Stripe/Slack/Telegram: registered (with the URL it calls) or not, and
    the last error, e.g. the vendor's message when activation was refused."""
    registered = NodePanelState.vendor_status == "registered"
    return rx.cond(
        NodePanelState.vendor != "",
        rx.vstack(
            rx.hstack(
                rx.badge(rx.cond(registered, "Registered", "Not registered"),
                         color_scheme=rx.cond(registered, "green", "gray"), data_testid="vendor-status"),
                rx.text("webhook at ", NodePanelState.vendor, size="1", color=rx.color("gray", 11)),
                rx.spacer(),
                rx.icon_button(rx.icon("refresh-cw", size=12), size="1", variant="ghost",
                               aria_label="Refresh trigger status", on_click=NodePanelState.refresh_trigger_status),
                align="center", width="100%",
            ),
            rx.cond(NodePanelState.vendor_url != "", _url_row("Vendor webhook URL", NodePanelState.vendor_url)),
            rx.cond(NodePanelState.vendor_error != "",
                    rx.text(NodePanelState.vendor_error, size="1", color=rx.color("red", 11),
                            data_testid="vendor-error")),
            rx.text("Activating the workflow registers the webhook at ", NodePanelState.vendor,
                    "; deactivating deletes it.", size="1", color=rx.color("gray", 10)),
            spacing="2", padding="10px", border_radius="8px", background=rx.color("accent", 2),
            border=f"1px solid {rx.color('accent', 5)}", width="100%", data_testid="vendor-trigger",
        ),
    )


def _listener_status() -> rx.Component:
    """A listener trigger (Redis, Kafka, RabbitMQ, Email (IMAP)): listening, starting, error, stopped or not active;
    the messages it took and when the last came; its error in words saying what to do."""
    view = NodePanelState.listener
    return rx.cond(
        NodePanelState.listener_trigger != "",
        rx.vstack(
            rx.hstack(
                rx.badge(view["label"], color_scheme=view["color"].to(str), data_testid="listener-status"),
                rx.text(view["messages"], size="1", color=rx.color("gray", 11), data_testid="listener-messages"),
                rx.spacer(),
                rx.icon_button(rx.icon("refresh-cw", size=12), size="1", variant="ghost",
                               aria_label="Refresh trigger status", on_click=NodePanelState.refresh_trigger_status),
                align="center", width="100%",
            ),
            rx.cond(view["last_message"] != "",
                    rx.text("Last message: ", view["last_message"], size="1", color=rx.color("gray", 11),
                            data_testid="listener-last-message")),
            rx.cond(view["detail"] != "",
                    rx.text(view["detail"], size="1", color=rx.color("gray", 11), data_testid="listener-detail")),
            rx.cond(view["error"] != "",
                    rx.text(view["error"], size="1", color=rx.color("red", 11), data_testid="listener-error")),
            rx.cond(view["hint"] != "", rx.text(view["hint"], size="1", color=rx.color("gray", 10))),
            spacing="2", padding="10px", border_radius="8px", background=rx.color("accent", 2),
            border=f"1px solid {rx.color('accent', 5)}", width="100%", data_testid="listener-trigger",
        ),
    )


def _listen() -> rx.Component:
    return rx.cond(
        RunState.listening,
        rx.vstack(
            rx.hstack(rx.spinner(size="1"), rx.text("Listening for a test event…", size="2", weight="medium"),
                      align="center", data_testid="listening"),
            rx.text("Send a request to the test URL above within two minutes; the workflow then runs with it.",
                    size="1", color=rx.color("gray", 10)),
            rx.button("Stop listening", size="1", variant="soft", color_scheme="gray",
                      on_click=RunState.stop_listening),
            spacing="1", width="100%",
        ),
        rx.button(rx.icon("radio", size=14), "Listen for test event", size="2", variant="soft",
                  on_click=RunState.listen, width="100%"),
    )


def _credential_slot(slot) -> rx.Component:
    return rx.vstack(
        _label(slot["label"], "Accepts: " + slot["types"].to(str)),
        rx.select.root(
            rx.select.trigger(width="100%", aria_label=f"Credential {slot['label']}"),
            rx.select.content(rx.foreach(slot["options"].to(list[dict]),
                                         lambda o: rx.select.item(o["name"], value=o["id"]))),
            value=slot["value"].to(str),
            on_change=lambda v: NodePanelState.set_credential(slot["slot"], v),
        ),
        rx.link("Manage credentials", href="/credentials", size="1"),
        spacing="1", width="100%",
    )


def _parameters() -> rx.Component:
    return rx.vstack(
        _webhook_urls(),
        _vendor_status(),
        _listener_status(),
        rx.foreach(NodePanelState.credential_slots, _credential_slot),
        rx.cond(NodePanelState.fields.length() == 0,
                rx.text("This node has no parameters.", size="2", color=rx.color("gray", 10))),
        rx.foreach(NodePanelState.fields, _field),
        spacing="4", width="100%",
    )


def _setting(label: str, description: str, control: rx.Component) -> rx.Component:
    return rx.vstack(_label(label, description), control, spacing="1", width="100%")


def _settings() -> rx.Component:
    return rx.vstack(
        _setting("Name", "Unique in the workflow; expressions refer to it as $node[\"Name\"]",
                 rx.vstack(rx.input(value=NodePanelState.name, on_change=NodePanelState.set_name, width="100%",
                                    aria_label="Node name"),
                           rx.cond(NodePanelState.name_error != "",
                                   rx.text(NodePanelState.name_error, size="1", color=rx.color("red", 11))),
                           spacing="1", width="100%")),
        _setting("Notes", "For people reading the workflow",
                 rx.text_area(value=NodePanelState.notes, on_change=NodePanelState.set_notes, rows="3",
                              width="100%", aria_label="Notes")),
        rx.hstack(rx.switch(checked=NodePanelState.disabled, on_change=NodePanelState.set_disabled,
                            aria_label="Disabled"),
                  rx.text("Disabled (items pass through untouched)", size="2"), align="center"),
        rx.separator(size="4"),
        rx.hstack(
            _setting("Retry: max tries", "1 = no retry",
                     rx.input(value=NodePanelState.max_tries, placeholder="1", type="number", min="1",
                              on_change=lambda v: NodePanelState.set_setting("retry.max_tries", v),
                              aria_label="Max tries")),
            _setting("Retry: wait (ms)", "before the first retry",
                     rx.input(value=NodePanelState.wait_ms, placeholder="1000", type="number", min="0",
                              on_change=lambda v: NodePanelState.set_setting("retry.wait_ms", v),
                              aria_label="Retry wait ms")),
            spacing="3", width="100%",
        ),
        _setting("Timeout (s)", "Fail the node if it runs longer; empty: no limit",
                 rx.input(value=NodePanelState.timeout_s, placeholder="none", type="number", min="0",
                          on_change=lambda v: NodePanelState.set_setting("timeout_s", v), aria_label="Timeout")),
        _setting("On error", "stop the run, continue with the next node, or send the error to an 'error' output",
                 rx.select.root(rx.select.trigger(width="100%", aria_label="On error"),
                                rx.select.content(*(rx.select.item(o, value=o)
                                                    for o in ("stop", "continue", "error_output"))),
                                value=NodePanelState.on_error,
                                on_change=lambda v: NodePanelState.set_setting("on_error", v))),
        rx.hstack(rx.switch(checked=NodePanelState.always_output,
                            on_change=lambda v: NodePanelState.set_setting("always_output", v),
                            aria_label="Always output"),
                  rx.text("Always output an item, even when there is none", size="2"), align="center"),
        spacing="4", width="100%",
    )


def _json_block(title: str, text) -> rx.Component:
    return rx.vstack(
        rx.text(title, size="1", weight="bold", color=rx.color("gray", 10), text_transform="uppercase"),
        rx.cond(text != "",
                rx.el.pre(text, font_family=MONO, font_size="12px", background=rx.color("gray", 2), border=BORDER,
                          border_radius="8px", padding="10px", width="100%", overflow="auto", max_height="320px",
                          margin="0", data_testid=f"node-{title.lower()}"),
                rx.text("Nothing yet: run the workflow to see this node's data.", size="1",
                        color=rx.color("gray", 9))),
        spacing="1", width="100%",
    )


def _pin_editor() -> rx.Component:
    return rx.vstack(
        rx.text_area(value=PinState.pin_text, on_change=PinState.set_pin_text, rows="10", font_family=MONO,
                     size="1", width="100%", spell_check=False, aria_label="Pinned data JSON"),
        rx.cond(PinState.pin_error != "", rx.text(PinState.pin_error, size="1", color=rx.color("red", 11),
                                                  role="alert")),
        rx.hstack(rx.button("Save pinned data", size="1", on_click=PinState.save_pin_text),
                  rx.button("Cancel", size="1", variant="soft", color_scheme="gray", on_click=PinState.cancel_editing),
                  spacing="2"),
        spacing="2", width="100%",
    )


def _pins() -> rx.Component:
    pinned = rx.vstack(
        rx.hstack(rx.badge(rx.icon("pin", size=12), "Output pinned", color_scheme="violet", data_testid="pinned"),
                  rx.spacer(),
                  rx.cond(AuthState.can_edit, rx.hstack(
                      rx.button("Edit", size="1", variant="soft", on_click=PinState.start_editing),
                      rx.button(rx.icon("pin-off", size=12), "Unpin", size="1", variant="soft", color_scheme="gray",
                                on_click=PinState.unpin),
                      spacing="2")),
                  width="100%", align="center"),
        rx.text("Manual runs use this data instead of running the node; production runs ignore it.", size="1",
                color=rx.color("gray", 10)),
        rx.cond(~PinState.editing,
                rx.el.pre(PinState.pin_text, font_family=MONO, font_size="12px", background=rx.color("violet", 2),
                          border=BORDER, border_radius="8px", padding="10px", width="100%", overflow="auto",
                          max_height="240px", margin="0", data_testid="pinned-data")),
        spacing="2", width="100%",
    )
    unpinned = rx.cond(AuthState.can_edit, rx.hstack(
        rx.button(rx.icon("pin", size=12), "Pin output", size="1", variant="soft", on_click=PinState.pin_output,
                  disabled=~PinState.has_output),
        rx.button("Set pinned data", size="1", variant="ghost", on_click=PinState.start_editing),
        spacing="2"))
    return rx.cond(PinState.can_pin, rx.vstack(
        rx.cond(PinState.pinned, pinned, unpinned),
        rx.cond(PinState.editing, _pin_editor()),
        spacing="2", width="100%", padding="10px", border_radius="8px", border=BORDER,
    ))


def _data() -> rx.Component:
    return rx.vstack(
        _pins(),
        rx.cond(RunState.focus_error != "", _json_block("Error", RunState.focus_error)),
        _json_block("Output", RunState.focus_output),
        _json_block("Input", RunState.focus_input),
        spacing="4", width="100%",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.center(rx.icon(NodePanelState.icon, size=18), width="34px", height="34px", border_radius="8px",
                  background=rx.color("accent", 3), color=rx.color("accent", 11)),
        rx.vstack(rx.text(NodePanelState.name, weight="bold", size="3", data_testid="panel-node-name"),
                  rx.text(NodePanelState.title, size="1", color=rx.color("gray", 10)), spacing="0"),
        rx.spacer(),
        rx.cond(AuthState.can_edit, rx.tooltip(
            rx.button(rx.icon("play", size=12), "Run this node", size="1", variant="soft", color_scheme="green",
                      on_click=RunState.run_node(NodePanelState.name), loading=RunState.running),
            content="Run the workflow up to this node (pinned nodes are not run)")),
        rx.tooltip(rx.icon_button(rx.icon("maximize-2", size=14), variant="ghost", color_scheme="gray",
                                  aria_label="Open node details", on_click=NdvState.open_details),
                   content="Input, parameters and output side by side"),
        rx.icon_button(rx.icon("x", size=16), variant="ghost", color_scheme="gray", aria_label="Close panel",
                       on_click=NodePanelState.close_panel),
        align="center", width="100%", spacing="3",
    )


def _read_only_for_viewers(form: rx.Component) -> rx.Component:
    # A disabled fieldset disables every input, switch, select and button inside it.
    return rx.el.fieldset(form, disabled=~AuthState.can_edit, border="none", padding="0", margin="0",
                          min_width="0")


def parameters_form() -> rx.Component:
    return _read_only_for_viewers(_parameters())


def settings_form() -> rx.Component:
    return _read_only_for_viewers(_settings())


def node_panel() -> rx.Component:
    return rx.vstack(
        _header(),
        rx.cond(NodePanelState.description != "", rx.text(NodePanelState.description, size="1",
                                                          color=rx.color("gray", 11))),
        rx.cond(NodePanelState.node_problems.length() > 0,
                rx.callout(rx.foreach(NodePanelState.node_problems, lambda p: rx.text(p, size="1")),
                           icon="triangle-alert", color_scheme="amber", size="1", width="100%")),
        rx.tabs.root(
            rx.tabs.list(rx.tabs.trigger("Parameters", value="parameters"),
                         rx.tabs.trigger("Settings", value="settings"),
                         rx.tabs.trigger("Data", value="data")),
            rx.scroll_area(
                rx.box(rx.tabs.content(_read_only_for_viewers(_parameters()), value="parameters"),
                       rx.tabs.content(_read_only_for_viewers(_settings()), value="settings"),
                       rx.tabs.content(_data(), value="data"), padding="14px 2px 24px", width="100%"),
                type="hover", scrollbars="vertical", style={"height": "calc(100vh - 230px)"},
            ),
            value=NodePanelState.tab, on_change=NodePanelState.set_tab, width="100%",
        ),
        # Over the canvas rather than beside it, so opening a node never resizes or shifts the graph.
        position="absolute", top="0", right="0", bottom="0", z_index="10",
        width="400px", padding="14px 16px", spacing="3", border_left=BORDER,
        background=rx.color("gray", 1), box_shadow="-8px 0 24px rgba(16, 24, 40, 0.08)",
        role="complementary", aria_label="Node panel",
    )
