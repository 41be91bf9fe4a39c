import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Variables", empty_state("braces", "No variables yet", "Team-wide values for expressions: $vars.NAME."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/variables", title="Variables · LinkFlow", on_load=AuthState.require_session)
