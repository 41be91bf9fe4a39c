"""/login and /signup: a centred card each, with the API's own error message when it refuses."""

import reflex as rx

from ui.state.auth import AuthState
from ui.state.invite import InviteState


def _brand() -> rx.Component:
    return rx.hstack(rx.icon("waypoints", size=28, color=rx.color("accent", 9)),
                     rx.heading("LinkFlow", size="6"), align="center", spacing="2")


def _field(label: str, name: str, kind: str = "text", placeholder: str = "", **props) -> rx.Component:
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.input(id=name, name=name, type=kind, placeholder=placeholder, size="3", width="100%", **props),
        spacing="1", width="100%",
    )


def _error() -> rx.Component:
    return rx.cond(
        AuthState.form_error != "",
        rx.callout(AuthState.form_error, icon="circle-alert", color_scheme="red", role="alert", width="100%"),
    )


def _card(title: str, subtitle: str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            _brand(),
            rx.card(
                rx.vstack(rx.heading(title, size="5", as_="h1"), rx.text(subtitle, color=rx.color("gray", 11), size="2"),
                          _error(), form, spacing="4", width="100%"),
                size="4", width="100%",
            ),
            footer,
            align="center", spacing="5", width="400px", max_width="92vw",
        ),
        min_height="100vh", background=rx.color("gray", 2),
    )


def _password_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field("Email", "email", "email", "you@example.com", auto_complete="username", auto_focus=True),
            _field("Password", "password", "password", auto_complete="current-password"),
            rx.button("Sign in", type="submit", size="3", width="100%", loading=AuthState.busy),
            spacing="4", width="100%",
        ),
        on_submit=AuthState.login, reset_on_submit=False, width="100%",
    )


def _code_form() -> rx.Component:
    """The second step when two-factor sign-in is on: a 6-digit code, or a recovery code."""
    code = rx.cond(
        AuthState.mfa_recovery,
        _field("Recovery code", "code", placeholder="xxxx-xxxx-xxxx-xxxx", auto_complete="off", auto_focus=True,
               key="recovery"),
        _field("Authentication code", "code", placeholder="123456", auto_complete="one-time-code",
               input_mode="numeric", max_length=6, auto_focus=True, key="totp"),
    )
    return rx.form(
        rx.vstack(
            rx.text(rx.cond(AuthState.mfa_recovery,
                            "Enter one of the recovery codes you saved when you turned on two-factor sign-in. "
                            "Each works once.",
                            "Open your authenticator app and enter the 6-digit code for LinkFlow."), size="2"),
            code,
            rx.button("Verify", type="submit", size="3", width="100%", loading=AuthState.busy),
            rx.hstack(
                rx.button(rx.cond(AuthState.mfa_recovery, "Use the authenticator app", "Use a recovery code"),
                          on_click=AuthState.toggle_recovery, type="button", variant="ghost", size="2"),
                rx.button("Back", on_click=AuthState.cancel_mfa, type="button", variant="ghost", size="2",
                          color_scheme="gray"),
                justify="between", width="100%",
            ),
            spacing="4", width="100%",
        ),
        on_submit=AuthState.login_code, reset_on_submit=True, width="100%",
    )


def login_page() -> rx.Component:
    footer = rx.text("New to LinkFlow? ", rx.link("Create an account", href="/signup"), size="2")
    return rx.cond(
        AuthState.mfa_token != "",
        _card("Two-factor sign-in", "One more step to prove it is you.", _code_form(), footer),
        _card("Sign in", "Welcome back. Sign in to your workspace.", _password_form(), footer),
    )


def signup_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            _field("Name", "name", placeholder="Ada Lovelace", auto_complete="name", auto_focus=True),
            _field("Email", "email", "email", "you@example.com", auto_complete="username"),
            _field("Password", "password", "password", auto_complete="new-password"),
            rx.button("Create account", type="submit", size="3", width="100%", loading=AuthState.busy),
            spacing="4", width="100%",
        ),
        on_submit=AuthState.signup, reset_on_submit=False, width="100%",
    )
    footer = rx.text("Already have an account? ", rx.link("Sign in", href="/login"), size="2")
    return _card("Create your account", "You get a personal team to build workflows in.", form, footer)


def invite_page() -> rx.Component:
    error = rx.cond(InviteState.error != "", rx.callout(InviteState.error, icon="circle-alert", color_scheme="red",
                                                        role="alert", width="100%"))
    signed_out = rx.vstack(
        rx.text("Sign in, or create an account, with the email address the invitation was sent to. "
                "You come back here to accept it.", size="2"),
        rx.button("Sign in to accept", size="3", width="100%",
                  on_click=rx.redirect("/login?next=" + InviteState.return_path)),
        rx.button("Create an account", size="3", variant="soft", width="100%",
                  on_click=rx.redirect("/signup?next=" + InviteState.return_path)),
        spacing="3", width="100%",
    )
    signed_in = rx.vstack(
        rx.text("Signed in as ", rx.text.strong(InviteState.signed_in_as), ".", size="2"),
        rx.button("Accept invitation", size="3", width="100%", on_click=InviteState.accept,
                  loading=InviteState.accepting, disabled=InviteState.token == ""),
        rx.button("Use another account", size="2", variant="ghost", on_click=InviteState.use_another_account),
        spacing="3", width="100%",
    )
    body = rx.cond(~InviteState.opened, rx.center(rx.spinner(size="3"), width="100%"),
                   rx.cond(InviteState.signed_in_as != "", signed_in, signed_out))
    card = rx.card(rx.vstack(rx.heading("Join a team", size="5", as_="h1"),
                             rx.text("You were invited to a team on LinkFlow.", color=rx.color("gray", 11), size="2"),
                             error, body, spacing="4", width="100%"),
                   size="4", width="100%")
    return rx.center(rx.vstack(_brand(), card, align="center", spacing="5", width="400px", max_width="92vw"),
                     min_height="100vh", background=rx.color("gray", 2))


def register(app: rx.App) -> None:
    app.add_page(invite_page, route="/invite", title="Join a team · LinkFlow", on_load=InviteState.open)
    app.add_page(login_page, route="/login", title="Sign in · LinkFlow", on_load=AuthState.open_public_page)
    app.add_page(signup_page, route="/signup", title="Sign up · LinkFlow", on_load=AuthState.open_public_page)
