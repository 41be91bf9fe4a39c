"""/variables: the team's key/value variables for expressions ($vars.KEY); secret values are masked."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState
from ui.state.variables import VariablesState as S

MUTED = rx.color("gray", 11)
MONO = "var(--code-font-family)"


def _hint() -> rx.Component:
    # callout.text is a <p>: its parts go straight in (a <p> inside a <p> breaks hydration).
    return rx.callout.root(
        rx.callout.icon(rx.icon("info")),
        rx.callout.text("Use a variable in any node parameter as ", rx.code("{{ $vars.NAME }}"),
                        ", e.g. ", rx.code("{{ $vars.API_BASE }}/orders"),
                        ". Secret values are encrypted, never shown again, and only opened for a run."),
        size="1", width="100%",
    )


def _form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.form_id == "", "New variable", "Edit variable")),
            rx.vstack(
                rx.vstack(rx.text("Key", size="2", weight="medium"),
                          rx.input(value=S.form_key, on_change=S.set_form_key, aria_label="Variable key",
                                   placeholder="API_BASE", font_family=MONO, width="100%"),
                          rx.text("Letters, digits and _; used as $vars.", S.form_key, size="1", color=MUTED),
                          spacing="1", width="100%"),
                rx.vstack(rx.text("Value", size="2", weight="medium"),
                          rx.cond(S.form_secret,
                                  rx.input(type="password", value=S.form_value, on_change=S.set_form_value,
                                           aria_label="Variable value", auto_complete="new-password",
                                           placeholder=rx.cond(S.form_was_secret & (S.form_id != ""),
                                                               "Saved — leave blank to keep the saved value", ""),
                                           width="100%"),
                                  rx.text_area(value=S.form_value, on_change=S.set_form_value,
                                               aria_label="Variable value", rows="3", font_family=MONO,
                                               width="100%")),
                          spacing="1", width="100%"),
                rx.hstack(rx.switch(checked=S.form_secret, on_change=S.set_form_secret, aria_label="Secret"),
                          rx.text("Secret (masked, encrypted at rest)", size="2"), spacing="2", align="center"),
                rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red",
                                                       size="1", role="alert", width="100%")),
                rx.hstack(rx.spacer(), rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
                          rx.button("Save", on_click=S.save, loading=S.saving), spacing="2", width="100%"),
                spacing="3", width="100%", margin_top="12px",
            ),
            max_width="520px",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete variable?"),
            rx.alert_dialog.description(S.delete_key, " will be deleted; expressions using $vars.",
                                        S.delete_key, " get nothing from then on."),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=S.cancel_delete)),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.confirm_delete)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=S.delete_id != "",
    )


def _row(row) -> rx.Component:
    secret = row["is_secret"].to(bool)
    return rx.table.row(
        rx.table.cell(rx.code(row["key"], variant="ghost", weight="medium")),
        rx.table.cell(rx.text(row["value"], size="2", font_family=MONO, color=rx.cond(secret, MUTED, "inherit"),
                              style={"wordBreak": "break-all"}, data_testid="variable-value")),
        rx.table.cell(rx.cond(secret, rx.badge(rx.icon("lock", size=12), "Secret", color_scheme="amber"),
                              rx.badge("Plain", color_scheme="gray"))),
        rx.table.cell(rx.code("$vars.", row["key"], size="1", variant="soft")),
        rx.table.cell(rx.text(row["updated"], size="2", color=MUTED)),
        rx.table.cell(rx.cond(AuthState.can_edit, rx.hstack(
            rx.icon_button(rx.icon("pencil", size=14), variant="ghost", color_scheme="gray",
                           aria_label=f"Edit {row['key']}", on_click=S.open_edit(row["id"])),
            rx.icon_button(rx.icon("trash-2", size=14), variant="ghost", color_scheme="red",
                           aria_label=f"Delete {row['key']}", on_click=S.ask_delete(row["id"], row["key"])),
            spacing="1", justify="end"))),
        align="center", data_testid="variable-row",
    )


def _table() -> rx.Component:
    headers = ("Key", "Value", "Kind", "In expressions", "Updated", "")
    return rx.table.root(
        rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
        rx.table.body(rx.foreach(S.rows, _row)),
        variant="surface", width="100%",
    )


def _new_button(label: str = "New variable") -> rx.Component:
    return rx.cond(AuthState.can_edit, rx.button(rx.icon("plus", size=16), label, on_click=S.open_new))


def _content() -> rx.Component:
    return rx.cond(
        ~S.loaded, rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
        rx.cond(S.load_error != "",
                empty_state("triangle-alert", "Could not load variables", S.load_error,
                            rx.button("Try again", on_click=S.load, margin_top="8px")),
                rx.cond(S.rows.length() > 0, _table(),
                        empty_state("braces", "No variables yet",
                                    "Team-wide values for expressions: $vars.NAME.",
                                    _new_button("Create a variable")))),
    )


def page() -> rx.Component:
    return shell("Variables", _hint(), _content(), _form_dialog(), _delete_dialog(), actions=_new_button())


def register(app: rx.App) -> None:
    app.add_page(page, route="/variables", title="Variables · LinkFlow",
                 on_load=[AuthState.require_session, S.load])
