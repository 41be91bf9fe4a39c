"""/settings: Profile, Security, Members, API keys and Notifications, one tab each."""

import reflex as rx

from ui.components.sections import field, form_error, loading_or, section
from ui.components.shell import shell
from ui.pages.settings_keys import api_keys_tab
from ui.pages.settings_members import members_tab
from ui.pages.settings_notifications import team_notifications
from ui.pages.settings_security import security_tab
from ui.state.auth import AuthState
from ui.state.members import MembersState
from ui.state.notification_rules import NotificationRulesState
from ui.state.security import SecurityState
from ui.state.settings import ApiKeysState, NotificationsState, ProfileState, SettingsTabState


def _profile_tab() -> rx.Component:
    name_form = rx.form(
        rx.vstack(
            field("Email", rx.text(AuthState.user_email, size="2", color=rx.color("gray", 11))),
            field("Name", rx.input(name="name", default_value=AuthState.user_name, key=AuthState.user_name,
                                   aria_label="Name", max_length=200, width="320px")),
            form_error(ProfileState.name_error),
            rx.button("Save name", type="submit", loading=ProfileState.saving_name),
            spacing="3", align="start",
        ),
        on_submit=ProfileState.save_name, reset_on_submit=False,
    )
    password_form = rx.form(
        rx.vstack(
            field("Current password", rx.input(name="current_password", type="password", aria_label="Current password",
                                               auto_complete="current-password", width="320px")),
            field("New password", rx.input(name="new_password", type="password", aria_label="New password",
                                           auto_complete="new-password", width="320px"),
                  "At least 8 characters."),
            field("Repeat the new password", rx.input(name="repeat_password", type="password",
                                                      aria_label="Repeat new password", auto_complete="new-password",
                                                      width="320px")),
            form_error(ProfileState.password_error),
            rx.button("Change password", type="submit", loading=ProfileState.saving_password),
            spacing="3", align="start",
        ),
        on_submit=ProfileState.change_password, reset_on_submit=False, key=ProfileState.password_form_key,
    )
    return rx.vstack(
        section("Profile", "How your teammates see you.", name_form),
        section("Password", "Changing it signs out every other session of your account.", password_form),
        spacing="4", width="100%",
    )


def _notifications_tab() -> rx.Component:
    toggle = rx.el.label(
        rx.hstack(
            rx.switch(checked=NotificationsState.email_on_failure, on_change=NotificationsState.set_email_on_failure,
                      aria_label="Email me when my workflows fail"),
            rx.vstack(rx.text("Email me when my workflows fail", size="2", weight="medium"),
                      rx.text("For workflows you created: a failed webhook, schedule or retry run sends you a "
                              "mail with the error and a link to the execution. Runs you start in the editor "
                              "do not.", size="1", color=rx.color("gray", 10)),
                      spacing="1"),
            align="start", spacing="3",
        ),
    )
    mine = section("Notifications", "What LinkFlow tells you, and how.",
                   loading_or(NotificationsState.loaded, NotificationsState.error, NotificationsState.load, toggle))
    return rx.vstack(mine, team_notifications(), spacing="4", width="100%")


def _two_factor_required() -> rx.Component:
    return rx.cond(AuthState.blocked_by_2fa, rx.callout.root(
        rx.callout.icon(rx.icon("shield-alert")),
        rx.callout.text(AuthState.team_name, " requires two-factor sign-in. Turn it on in the Security tab to use "
                        "the team; until then its workflows, credentials and members are closed to you."),
        color_scheme="amber", role="status", width="100%", data_testid="two-factor-required"))


def page() -> rx.Component:
    tabs = rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger("Profile", value="profile"),
            rx.tabs.trigger("Security", value="security"),
            rx.tabs.trigger("Members", value="members"),
            rx.tabs.trigger("API keys", value="api-keys"),
            rx.tabs.trigger("Notifications", value="notifications"),
        ),
        rx.tabs.content(_profile_tab(), value="profile", padding_top="16px"),
        rx.tabs.content(security_tab(), value="security", padding_top="16px"),
        rx.tabs.content(members_tab(), value="members", padding_top="16px"),
        rx.tabs.content(api_keys_tab(), value="api-keys", padding_top="16px"),
        rx.tabs.content(_notifications_tab(), value="notifications", padding_top="16px"),
        value=SettingsTabState.tab, on_change=SettingsTabState.set_tab, width="100%",
    )
    return shell("Settings", rx.vstack(_two_factor_required(), tabs, spacing="4", width="100%"))


def register(app: rx.App) -> None:
    on_load = [SettingsTabState.open_page, AuthState.require_session, SecurityState.load, NotificationsState.load,
               ApiKeysState.load, MembersState.load, NotificationRulesState.load]
    app.add_page(page, route="/settings", title="Settings · LinkFlow", on_load=on_load)
