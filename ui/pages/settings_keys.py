"""The API keys tab of /settings: keys for scripts, shown once at creation, revocable."""

import reflex as rx

from ui.components.sections import field, form_error, loading_or, section
from ui.components.shell import empty_state
from ui.state.auth import AuthState
from ui.state.settings import ApiKeysState

EXPIRY = [("never", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]


def _create_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), "Create API key", size="2")),
        rx.dialog.content(
            rx.dialog.title("Create an API key"),
            rx.dialog.description("A key acts in this team with your role. Send it as "
                                  "`Authorization: Bearer lf_…` or `X-API-Key`.", size="2", margin_bottom="12px"),
            rx.form(
                rx.vstack(
                    field("Name", rx.input(name="name", placeholder="e.g. Nightly export script", aria_label="Key name",
                                           max_length=200, width="100%", auto_focus=True)),
                    field("Expires", rx.select.root(
                        rx.select.trigger(aria_label="Key expiry"),
                        rx.select.content(*(rx.select.item(label, value=value) for value, label in EXPIRY)),
                        name="expires_in_days", default_value="never",
                    )),
                    form_error(ApiKeysState.create_error),
                    rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                              rx.button("Create key", type="submit", loading=ApiKeysState.creating),
                              justify="end", width="100%"),
                    spacing="3",
                ),
                on_submit=ApiKeysState.create, reset_on_submit=False,
            ),
            max_width="460px",
        ),
        open=ApiKeysState.create_open,
        on_open_change=ApiKeysState.set_create_open,
    )


def _new_key_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Copy your new API key"),
            rx.dialog.description(rx.fragment("“", ApiKeysState.new_key_name, "” is ready.")),
            rx.callout("Copy it now: it will not be shown again. Only a hash is stored; if you lose it, "
                       "revoke it and create another.", icon="triangle-alert", color_scheme="amber", size="1",
                       margin_y="12px"),
            rx.hstack(
                rx.input(value=ApiKeysState.new_key, read_only=True, aria_label="New API key", width="100%",
                         font_family="var(--code-font-family)"),
                rx.button(rx.icon("copy", size=14), "Copy", on_click=ApiKeysState.copy_new_key),
                width="100%",
            ),
            rx.hstack(rx.dialog.close(rx.button("Done")), justify="end",
                      margin_top="16px"),
            max_width="560px",
        ),
        open=ApiKeysState.new_key != "",
        on_open_change=ApiKeysState.close_new_key,
    )


def _revoke_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Revoke API key?"),
            rx.alert_dialog.description(rx.fragment(
                "Scripts using “", ApiKeysState.revoke_name, "” get 401 from now on. This cannot be undone.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=ApiKeysState.cancel_revoke)),
                rx.alert_dialog.action(rx.button("Revoke", color_scheme="red", on_click=ApiKeysState.confirm_revoke)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=ApiKeysState.revoke_id != "",
    )


def _row(key) -> rx.Component:
    muted = {"size": "2", "color": rx.color("gray", 11)}
    may_revoke = AuthState.is_team_admin | (key["user_id"] == AuthState.user_id)
    return rx.table.row(
        rx.table.cell(rx.text(key["name"], weight="medium", size="2")),
        rx.table.cell(rx.code(key["prefix"], variant="soft")),
        rx.table.cell(rx.text(key["created"], **muted)),
        rx.table.cell(rx.text(key["last_used"], **muted)),
        rx.table.cell(rx.text(key["expires"], **muted)),
        rx.table.cell(rx.cond(may_revoke, rx.button("Revoke", size="1", variant="soft", color_scheme="red",
                                                    aria_label=f"Revoke {key['name']}",
                                                    on_click=ApiKeysState.ask_revoke(key["id"], key["name"]))),
                      text_align="right"),
        align="center", data_testid="api-key-row",
    )


def _table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in
                                       ("Name", "Key", "Created", "Last used", "Expires", "")))),
        rx.table.body(rx.foreach(ApiKeysState.rows, _row)),
        variant="surface", width="100%",
    )


def api_keys_tab() -> rx.Component:
    content = rx.cond(
        ApiKeysState.rows.length() > 0, _table(),
        empty_state("key-round", "No API keys yet",
                    rx.cond(AuthState.can_edit, "Create one for a script or another service to call the API.",
                            "Editors and above create keys for scripts.")),
    )
    return rx.vstack(
        section("API keys", "Keys of this team, for scripts and other services. Their secret is shown once.",
                rx.cond(AuthState.can_edit, rx.box(_create_dialog())),
                loading_or(ApiKeysState.loaded, ApiKeysState.error, ApiKeysState.load, content)),
        _new_key_dialog(), _revoke_dialog(),
        spacing="4", width="100%",
    )
