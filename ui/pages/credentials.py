import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Credentials", empty_state("key-round", "No credentials yet", "Secrets your nodes use are stored here, encrypted."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/credentials", title="Credentials · LinkFlow", on_load=AuthState.require_session)
