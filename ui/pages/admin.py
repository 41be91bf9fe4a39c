import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Admin", empty_state("shield", "Admin console", "Instance users, teams, workers and health."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/admin", title="Admin · LinkFlow", on_load=AuthState.require_session)
