"""The Security tab of /settings: two-factor sign-in (enrol, recovery codes, turn off) and, for
team admins, the team's requirement of it."""

import reflex as rx

from ui.components.sections import field, form_error, loading_or, section
from ui.state.auth import AuthState
from ui.state.security import SecurityState

MUTED = {"size": "2", "color": rx.color("gray", 11)}


def _code_input(label: str = "Code") -> rx.Component:
    return rx.input(name="code", aria_label=label, placeholder="123456 or a recovery code", auto_complete="one-time-code",
                    width="320px")


def _off() -> rx.Component:
    return rx.vstack(
        rx.text("Sign-in asks for a code from an authenticator app (Google Authenticator, 1Password, Authy, …) "
                "after your password. Scripts with API keys are not affected.", **MUTED),
        form_error(SecurityState.enable_error),
        rx.button(rx.icon("shield-check", size=16), "Set up two-factor sign-in", on_click=SecurityState.start,
                  loading=SecurityState.busy),
        spacing="3", align="start",
    )


def _enrolling() -> rx.Component:
    confirm = rx.form(
        rx.vstack(
            field("Code from the app", rx.input(name="code", aria_label="Code from the app", placeholder="123456",
                                                auto_complete="one-time-code", input_mode="numeric", max_length=6,
                                                width="200px", auto_focus=True)),
            form_error(SecurityState.enable_error),
            rx.hstack(rx.button("Turn on", type="submit", loading=SecurityState.busy),
                      rx.button("Cancel", type="button", variant="soft", color_scheme="gray",
                                on_click=SecurityState.cancel), spacing="2"),
            spacing="3", align="start",
        ),
        on_submit=SecurityState.confirm, reset_on_submit=True,
    )
    return rx.vstack(
        rx.text("1. Scan this QR code with your authenticator app, or type the key by hand.", **MUTED),
        rx.hstack(
            rx.image(src=SecurityState.qr_code, alt="QR code for your authenticator app", width="180px",
                     height="180px", data_testid="totp-qr"),
            rx.vstack(rx.text("Key", size="1", weight="medium"),
                      rx.code(SecurityState.secret, variant="soft", size="3", data_testid="totp-secret",
                              style={"letterSpacing": "0.08em", "wordBreak": "break-all"}),
                      rx.text("Time-based, 6 digits, every 30 s.", size="1", color=rx.color("gray", 10)),
                      spacing="1", max_width="320px"),
            spacing="5", align="center", wrap="wrap",
        ),
        rx.text("2. Enter the code the app shows to confirm.", **MUTED),
        confirm,
        spacing="3", align="start", width="100%",
    )


def _on() -> rx.Component:
    regenerate = rx.form(
        rx.vstack(
            rx.text("New recovery codes", size="2", weight="medium"),
            rx.text("The old codes stop working.", size="1", color=rx.color("gray", 10)),
            rx.hstack(_code_input("Code for new recovery codes"),
                      rx.button("Generate new codes", type="submit", variant="soft", loading=SecurityState.busy),
                      spacing="2", align="center", wrap="wrap"),
            form_error(SecurityState.regenerate_error),
            spacing="2", align="start",
        ),
        on_submit=SecurityState.regenerate, reset_on_submit=True, key=SecurityState.regenerate_form_key,
    )
    disable = rx.form(
        rx.vstack(
            rx.text("Turn off", size="2", weight="medium"),
            rx.input(name="password", type="password", aria_label="Password to turn off two-factor sign-in",
                     placeholder="Your password", auto_complete="current-password", width="320px"),
            _code_input("Code to turn off two-factor sign-in"),
            form_error(SecurityState.disable_error),
            rx.button("Turn off two-factor sign-in", type="submit", color_scheme="red", variant="soft",
                      loading=SecurityState.busy),
            spacing="2", align="start",
        ),
        on_submit=SecurityState.disable, reset_on_submit=False, key=SecurityState.disable_form_key,
    )
    return rx.vstack(
        rx.hstack(rx.badge("On", color_scheme="green"), rx.text("since ", SecurityState.enabled_at, **MUTED),
                  rx.text("· ", SecurityState.codes_left, " recovery codes left", **MUTED,
                          data_testid="recovery-codes-left"), spacing="2", align="center"),
        rx.divider(), regenerate, rx.divider(), disable,
        spacing="4", align="start", width="100%",
    )


def _codes_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Save your recovery codes"),
            rx.dialog.description("Each code signs you in once if you lose your authenticator. Keep them "
                                  "somewhere safe, like a password manager.", size="2"),
            rx.callout("They are shown only now.", icon="triangle-alert", color_scheme="amber", size="1",
                       margin_y="12px"),
            rx.grid(rx.foreach(SecurityState.recovery_codes,
                               lambda c: rx.code(c, variant="ghost", size="3", data_testid="recovery-code")),
                    columns="2", spacing="2"),
            rx.hstack(rx.button(rx.icon("copy", size=14), "Copy", variant="soft", on_click=SecurityState.copy_codes),
                      rx.dialog.close(rx.button("I saved them")), justify="end", spacing="3", margin_top="16px"),
            max_width="520px",
        ),
        open=SecurityState.recovery_codes.length() > 0,
        on_open_change=SecurityState.close_codes,
    )


def _team_requirement() -> rx.Component:
    toggle = rx.el.label(rx.hstack(
        rx.switch(checked=AuthState.team_requires_2fa, on_change=SecurityState.set_team_requirement,
                  aria_label="Require two-factor sign-in"),
        rx.vstack(rx.text("Require two-factor sign-in", size="2", weight="medium"),
                  rx.text("Members without it can still sign in, but only to turn it on: everything in this team "
                          "is closed to them until they do. API keys keep working. Turn it on for your own "
                          "account first.", size="1", color=rx.color("gray", 10)),
                  spacing="1"),
        align="start", spacing="3"))
    return rx.cond(AuthState.is_team_admin & ~AuthState.blocked_by_2fa,
                   section("Team policy", rx.cond(AuthState.team_name != "", AuthState.team_name, "This team"),
                           toggle))


def security_tab() -> rx.Component:
    body = rx.cond(SecurityState.enabled, _on(), rx.cond(SecurityState.secret != "", _enrolling(), _off()))
    return rx.vstack(
        section("Two-factor sign-in", "A code from your phone, on top of your password.",
                loading_or(SecurityState.loaded, SecurityState.error, SecurityState.load, body)),
        _team_requirement(), _codes_dialog(),
        spacing="4", width="100%",
    )
