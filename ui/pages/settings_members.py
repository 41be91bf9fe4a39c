"""The Members tab of /settings: who is in the team, with which role; invitations."""

import reflex as rx

from ui.components.sections import form_error, loading_or, section
from ui.state.auth import AuthState
from ui.state.members import MembersState

ROLE_HELP = "Viewers read; editors change and run workflows; admins also manage members and credentials."


def _role_items() -> list[rx.Component]:
    items = [rx.select.item(role.capitalize(), value=role) for role in ("viewer", "editor", "admin")]
    # Only owners grant the owner role (the API refuses others anyway).
    return [*items, rx.cond(AuthState.role == "owner", rx.select.item("Owner", value="owner"))]


def _invite_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(id="invite-email", name="email", type="email", placeholder="teammate@example.com",
                     aria_label="Email to invite", width="300px"),
            rx.select.root(
                rx.select.trigger(aria_label="Role for the invitation"),
                rx.select.content(*_role_items()),
                value=MembersState.invite_role, on_change=MembersState.set_invite_role,
            ),
            rx.button(rx.icon("send", size=14), "Invite", type="submit", loading=MembersState.inviting),
            spacing="2", align="center", wrap="wrap",
        ),
        on_submit=MembersState.invite, reset_on_submit=False,
    )


def _role_cell(member) -> rx.Component:
    return rx.cond(
        AuthState.is_team_admin,
        rx.select.root(
            rx.select.trigger(aria_label=f"Role of {member['email']}", variant="soft"),
            rx.select.content(*_role_items()),
            value=member["role"],
            on_change=lambda role: MembersState.change_role(member["user_id"], role),
            size="1",
        ),
        rx.badge(member["role"], variant="soft"),
    )


def _member_row(member) -> rx.Component:
    is_me = member["user_id"] == AuthState.user_id
    return rx.table.row(
        rx.table.cell(rx.vstack(
            rx.hstack(rx.text(member["name"], weight="medium", size="2"),
                      rx.cond(is_me, rx.badge("you", color_scheme="gray", variant="outline")), spacing="2"),
            rx.text(member["email"], size="1", color=rx.color("gray", 10)), spacing="0")),
        rx.table.cell(_role_cell(member)),
        rx.table.cell(rx.text(member["joined"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(
            rx.cond(AuthState.is_team_admin & ~is_me,
                    rx.icon_button(rx.icon("user-minus", size=14), variant="ghost", color_scheme="red",
                                   aria_label=f"Remove {member['email']}",
                                   on_click=MembersState.ask_remove(member["user_id"], member["name"]))),
            text_align="right"),
        align="center", data_testid="member-row",
    )


def _members_table() -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell("Member"), rx.table.column_header_cell("Role"),
            rx.table.column_header_cell("Joined"), rx.table.column_header_cell(""))),
        rx.table.body(rx.foreach(MembersState.members, _member_row)),
        variant="surface", width="100%",
    )


def _invitation_row(invitation) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(invitation["email"], size="2")),
        rx.table.cell(rx.badge(invitation["role"], variant="soft")),
        rx.table.cell(rx.text(invitation["expires"], size="2", color=rx.color("gray", 11))),
        rx.table.cell(rx.button("Revoke", size="1", variant="soft", color_scheme="red",
                                aria_label=f"Revoke invitation for {invitation['email']}",
                                on_click=MembersState.cancel_invitation(invitation["id"], invitation["email"])),
                      text_align="right"),
        align="center", data_testid="invitation-row",
    )


def _invitations() -> rx.Component:
    return rx.cond(
        MembersState.invitations.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell("Invited"), rx.table.column_header_cell("Role"),
                rx.table.column_header_cell("Link expires"), rx.table.column_header_cell(""))),
            rx.table.body(rx.foreach(MembersState.invitations, _invitation_row)),
            variant="surface", width="100%",
        ),
        rx.text("No pending invitations.", size="2", color=rx.color("gray", 10)),
    )


def _invite_link_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Share the invitation link"),
            rx.dialog.description(
                rx.fragment("No mail server is configured, so nobody mailed ", MembersState.invite_email,
                        " the link. Send it yourself: it works once, for 7 days, for that address only.")),
            rx.callout("This link is shown only now.", icon="triangle-alert", color_scheme="amber", size="1",
                       margin_y="12px"),
            rx.hstack(
                rx.input(value=MembersState.invite_url, read_only=True, aria_label="Invitation link", width="100%",
                         font_family="var(--code-font-family)"),
                rx.button(rx.icon("copy", size=14), "Copy", on_click=MembersState.copy_invite_link),
                width="100%",
            ),
            rx.hstack(rx.dialog.close(rx.button("Done")), justify="end",
                      margin_top="16px"),
            max_width="560px",
        ),
        open=MembersState.invite_url != "",
        on_open_change=MembersState.close_invite_link,
    )


def _remove_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Remove member?"),
            rx.alert_dialog.description(rx.fragment(
                MembersState.remove_name, " loses access to this team's workflows, credentials and "
                "executions. Their API keys in this team are revoked.")),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 on_click=MembersState.cancel_remove)),
                rx.alert_dialog.action(rx.button("Remove", color_scheme="red", on_click=MembersState.confirm_remove)),
                justify="end", spacing="3", margin_top="16px",
            ),
            max_width="440px",
        ),
        open=MembersState.remove_id != "",
    )


def members_tab() -> rx.Component:
    admin_part = rx.cond(
        AuthState.is_team_admin,
        rx.vstack(
            section("Invite", "They join with the role you choose once they accept. " + ROLE_HELP,
                    _invite_form(), form_error(MembersState.invite_error)),
            section("Pending invitations", "Links that were sent and not used yet.", _invitations()),
            spacing="4", width="100%",
        ),
        rx.callout("Only the team's admins and owners invite members or change roles.", icon="info",
                   color_scheme="gray", size="1", width="100%"),
    )
    members = section("Members", rx.cond(AuthState.team_name != "", AuthState.team_name, "This team"),
                      _members_table())
    return rx.vstack(
        loading_or(MembersState.loaded, MembersState.error, MembersState.load,
                   rx.vstack(members, admin_part, spacing="4", width="100%")),
        _invite_link_dialog(), _remove_dialog(),
        spacing="4", width="100%",
    )
