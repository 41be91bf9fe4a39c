import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Settings", empty_state("settings", "Settings", "Profile, team members and API keys."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/settings", title="Settings · LinkFlow", on_load=AuthState.require_session)
