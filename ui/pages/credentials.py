"""/credentials: the team's credentials; create and edit from each type's form, test, connect, share, usage."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState
from ui.state.credential_form import KEEP
from ui.state.credentials import CredentialsState as S

MUTED = rx.color("gray", 11)
ICONS = ("key", "lock", "cloud", "database", "mail")


def _type_icon(name, size: int = 16) -> rx.Component:
    return rx.match(name, *((i, rx.icon(i, size=size)) for i in ICONS), rx.icon("key", size=size))


# ---- the form ---------------------------------------------------------------------------------------

def _type_card(entry) -> rx.Component:
    return rx.button(
        rx.hstack(
            rx.center(_type_icon(entry["icon"], 18), width="36px", height="36px", border_radius="8px",
                      background=rx.color("accent", 3), color=rx.color("accent", 11), flex_shrink="0"),
            rx.vstack(rx.text(entry["display_name"], weight="medium", size="2", as_="div"),
                      rx.text(entry["description"], size="1", color=MUTED, text_align="left", as_="div"),
                      spacing="0", align="start"),
            spacing="3", align="center", width="100%",
        ),
        variant="outline", color_scheme="gray", height="auto", padding="10px", justify="start",
        aria_label=f"Choose {entry['display_name']}", on_click=S.choose_type(entry["type"]),
    )


def _field_input(field) -> rx.Component:
    def change(value):
        return S.set_field(field.name, value)

    select = rx.select.root(
        rx.select.trigger(width="100%", aria_label=field.label),
        rx.select.content(rx.foreach(field.options, lambda o: rx.select.item(
            rx.cond(o == KEEP, "Keep the saved value", o), value=o))),
        value=field.value, on_change=change,
    )
    return rx.match(
        field.kind,
        ("secret", rx.input(type="password", value=field.value, on_change=change, placeholder=field.placeholder,
                            aria_label=field.label, auto_complete="new-password", width="100%")),
        ("enum", select),
        ("boolean", select),
        ("integer", rx.input(type="number", value=field.value, on_change=change, placeholder=field.placeholder,
                             aria_label=field.label, width="100%")),
        rx.input(value=field.value, on_change=change, placeholder=field.placeholder, aria_label=field.label,
                 width="100%"),
    )


def _field(field) -> rx.Component:
    return rx.vstack(
        rx.text(field.label, rx.cond(field.required, rx.text.span(" *", color=rx.color("red", 10))),
                size="2", weight="medium"),
        _field_input(field),
        rx.cond(field.description != "", rx.text(field.description, size="1", color=MUTED)),
        spacing="1", width="100%", data_testid="credential-field",
    )


def _form_fields() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.badge(S.form_type_label, variant="soft"),
                  rx.cond(S.form_mode == "edit",
                          rx.text("Saved values are never shown. Leave a field blank to keep its saved value.",
                                  size="1", color=MUTED)),
                  spacing="2", align="center", wrap="wrap"),
        rx.vstack(rx.text("Name", rx.text.span(" *", color=rx.color("red", 10)), size="2", weight="medium"),
                  rx.input(value=S.form_name, on_change=S.set_form_name, aria_label="Credential name",
                           placeholder="e.g. Partner API (production)", width="100%"),
                  spacing="1", width="100%"),
        rx.foreach(S.form_fields, _field),
        rx.cond(S.form_error != "", rx.callout(S.form_error, icon="triangle-alert", color_scheme="red", size="1",
                                               role="alert", width="100%")),
        rx.hstack(
            rx.cond(S.form_mode == "new",
                    rx.button("Back", variant="ghost", color_scheme="gray", on_click=S.back_to_types)),
            rx.spacer(),
            rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray")),
            rx.button("Save", on_click=S.save, loading=S.saving),
            width="100%", align="center", spacing="2",
        ),
        spacing="3", width="100%",
    )


def _form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(S.form_mode == "new", "New credential", "Edit credential")),
            rx.dialog.description(
                rx.cond(S.form_step == "type", "Choose what kind of credential to store.",
                        "Values are encrypted when saved and never shown again."),
                size="2", margin_bottom="12px"),
            rx.cond(S.form_step == "type",
                    rx.grid(rx.foreach(S.types, _type_card), columns="2", spacing="2", width="100%"),
                    _form_fields()),
            max_width="620px", max_height="90vh", overflow_y="auto",
        ),
        open=S.form_open, on_open_change=S.set_form_open,
    )


# ---- sharing, usage, delete -------------------------------------------------------------------------

def _member(member) -> rx.Component:
    return rx.hstack(
        rx.checkbox(checked=member["checked"].to(bool), disabled=member["fixed"].to(bool),
                    on_change=lambda v: S.toggle_member(member["user_id"], v),
                    aria_label=f"Share with {member['label']}"),
        rx.text(member["label"], size="2"),
        rx.badge(member["role"], variant="soft", color_scheme="gray"),
        rx.cond(member["fixed"].to(bool), rx.text("(admins always can)", size="1", color=MUTED)),
        spacing="2", align="center",
    )


def _sharing_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Share “", S.share_name, "”"),
            rx.dialog.description("Who in the team may see this credential and use it in workflows.",
                                  size="2", margin_bottom="12px"),
            rx.vstack(
                rx.hstack(rx.switch(checked=S.share_team, on_change=S.set_share_team,
                                    aria_label="Shared with the whole team"),
                          rx.text("Shared with the whole team", size="2", weight="medium"),
                          spacing="2", align="center"),
                rx.cond(
                    S.share_team,
                    rx.text("Every member of the team can use it.", size="2", color=MUTED),
                    rx.vstack(
                        rx.text("Only its owner, the team's admins and these members can use it:", size="2",
                                color=MUTED),
                        rx.cond(S.share_members.length() == 0,
                                rx.text("No other members in this team yet.", size="2", color=MUTED)),
                        rx.foreach(S.share_members, _member),
                        spacing="2", width="100%",
                    ),
                ),
                rx.hstack(rx.spacer(),
                          rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.close_sharing),
                          rx.button("Save sharing", on_click=S.save_sharing, loading=S.share_saving),
                          width="100%", spacing="2"),
                spacing="3", width="100%",
            ),
            max_width="520px",
        ),
        open=S.share_id != "",
        on_open_change=S.sharing_open_change,
    )


def _usage_row(use) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(use["name"], href=f"/workflows/{use['id']}", weight="medium")),
        rx.table.cell(rx.text(use["nodes"], size="2", color=MUTED)),
        rx.table.cell(rx.cond(use["active"].to(bool), rx.badge("Active", color_scheme="green"),
                              rx.badge("Inactive", color_scheme="gray"))),
        data_testid="usage-row",
    )


def _usage_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Where “", S.usage_name, "” is used"),
            rx.dialog.description("Workflows whose newest version uses this credential.", size="2",
                                  margin_bottom="12px"),
            rx.cond(
                S.usage_loading, rx.center(rx.spinner(), padding="24px"),
                rx.cond(S.usage_rows.length() == 0,
                        rx.text("No workflow uses it.", size="2", color=MUTED),
                        rx.table.root(
                            rx.table.header(rx.table.row(rx.table.column_header_cell("Workflow"),
                                                         rx.table.column_header_cell("Nodes"),
                                                         rx.table.column_header_cell(""))),
                            rx.table.body(rx.foreach(S.usage_rows, _usage_row)), width="100%"))),
            rx.hstack(rx.spacer(), rx.dialog.close(rx.button("Close", variant="soft", color_scheme="gray")),
                      margin_top="16px"),
            max_width="560px",
        ),
        open=S.usage_id != "",
        on_open_change=S.usage_open_change,
    )


def _delete_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete credential?"),
            rx.alert_dialog.description(
                "“", S.delete_name, "” will be deleted. ",
                rx.cond(S.delete_usage > 0,
                        rx.text.span(S.delete_usage, " workflow(s) use it and will fail until you pick "
                                                     "another credential.", weight="medium"),
                        "No workflow uses it.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=S.cancel_delete)),
                rx.alert_dialog.action(rx.button("Delete", color_scheme="red", on_click=S.confirm_delete)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="460px",
        ),
        open=S.delete_id != "",
    )


# ---- the list ---------------------------------------------------------------------------------------

def _actions(row) -> rx.Component:
    manage = row["can_manage"].to(bool)
    return rx.hstack(
        rx.cond(row["oauth"].to(bool) & manage,
                rx.button(rx.icon("plug", size=14), rx.cond(row["connected"].to(bool), "Reconnect", "Connect"),
                          size="1", variant="soft", on_click=S.connect(row["id"]),
                          aria_label=f"Connect {row['name']}")),
        rx.cond(AuthState.can_edit,
                rx.button(rx.icon("activity", size=14), "Test", size="1", variant="soft", color_scheme="gray",
                          loading=S.testing_id == row["id"], on_click=S.test(row["id"]),
                          aria_label=f"Test {row['name']}")),
        rx.cond(manage, rx.menu.root(
            rx.menu.trigger(rx.icon_button(rx.icon("ellipsis", size=16), variant="ghost", color_scheme="gray",
                                           aria_label=f"Actions for {row['name']}")),
            rx.menu.content(
                rx.menu.item(rx.icon("pencil", size=14), "Edit", on_select=S.open_edit(row["id"])),
                rx.menu.item(rx.icon("users", size=14), "Sharing", on_select=S.open_sharing(row["id"])),
                rx.menu.separator(),
                rx.menu.item(rx.icon("trash-2", size=14), "Delete", color="red", on_select=S.ask_delete(row["id"])),
            ),
        )),
        spacing="2", justify="end", align="center",
    )


def _status(row) -> rx.Component:
    return rx.hstack(
        rx.cond(row["oauth"].to(bool),
                rx.cond(row["connected"].to(bool), rx.badge(rx.icon("check", size=12), "Connected", color_scheme="green"),
                        rx.badge("Not connected", color_scheme="amber"))),
        rx.cond(~row["readable"].to(bool), rx.badge("Unreadable: save its values again", color_scheme="red")),
        rx.cond(row["test"] == "ok", rx.text(rx.icon("circle-check", size=12, display="inline"), " ",
                                             row["test_message"], size="1", color=rx.color("green", 11),
                                             data_testid="test-result")),
        rx.cond(row["test"] == "fail", rx.text(rx.icon("circle-x", size=12, display="inline"), " ",
                                               row["test_message"], size="1", color=rx.color("red", 11),
                                               data_testid="test-result")),
        spacing="2", wrap="wrap", align="center",
    )


def _row(row) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.hstack(_type_icon(row["icon"]), rx.text(row["name"], weight="medium"), align="center", spacing="2"),
            _status(row), spacing="1")),
        rx.table.cell(rx.text(row["type_label"], size="2", color=MUTED)),
        rx.table.cell(rx.text(row["owner"], size="2")),
        rx.table.cell(rx.badge(rx.cond(row["private"].to(bool), rx.icon("lock", size=12), rx.icon("users", size=12)),
                               row["sharing"],
                               variant="soft", color_scheme=rx.cond(row["private"].to(bool), "amber", "gray"))),
        rx.table.cell(rx.text(row["last_used"], size="2", color=MUTED)),
        rx.table.cell(rx.button(row["usage_count"], " workflow", rx.cond(row["usage_count"] == 1, "", "s"),
                                size="1", variant="ghost", on_click=S.open_usage(row["id"], row["name"]),
                                aria_label=f"Usage of {row['name']}")),
        rx.table.cell(_actions(row)),
        align="center", data_testid="credential-row",
    )


def _table() -> rx.Component:
    headers = ("Name", "Type", "Owner", "Sharing", "Last used", "Used in", "")
    return rx.table.root(
        rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
        rx.table.body(rx.foreach(S.shown_rows, _row)),
        variant="surface", width="100%",
    )


def _oauth_notice() -> rx.Component:
    return rx.cond(S.oauth_notice != "", rx.callout.root(
        rx.hstack(
            rx.callout.icon(rx.cond(S.oauth_ok, rx.icon("circle-check"), rx.icon("circle-x"))),
            rx.callout.text(S.oauth_notice),
            rx.spacer(),
            rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", color_scheme="gray",
                           aria_label="Dismiss", on_click=S.dismiss_notice),
            align="center", width="100%",
        ),
        color_scheme=rx.cond(S.oauth_ok, "green", "red"), size="1", width="100%", role="status",
        data_testid="oauth-notice",
    ))


def _new_button(label: str = "New credential") -> rx.Component:
    return rx.cond(AuthState.can_edit, rx.button(rx.icon("plus", size=16), label, on_click=S.open_new))


def _content() -> rx.Component:
    return rx.cond(
        ~S.loaded, rx.center(rx.spinner(size="3"), padding="64px", width="100%"),
        rx.cond(
            S.load_error != "",
            empty_state("triangle-alert", "Could not load credentials", S.load_error,
                        rx.button("Try again", on_click=S.load, margin_top="8px")),
            rx.cond(
                S.shown_rows.length() > 0, _table(),
                rx.cond(S.search != "",
                        empty_state("search-x", "No credentials match", "Try another search."),
                        empty_state("key-round", "No credentials yet",
                                    "Secrets your nodes use are stored here, encrypted; nobody sees them again "
                                    "after saving.", _new_button("Create a credential"))),
            ),
        ),
    )


def page() -> rx.Component:
    search = rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder="Search credentials",
                      value=S.search, on_change=S.set_search, aria_label="Search credentials", width="320px")
    return shell("Credentials", _oauth_notice(), search, _content(), _form_dialog(), _sharing_dialog(), _usage_dialog(),
                 _delete_dialog(), actions=_new_button())


def register(app: rx.App) -> None:
    app.add_page(page, route="/credentials", title="Credentials · LinkFlow",
                 on_load=[AuthState.require_session, S.open_page])
