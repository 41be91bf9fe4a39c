import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Executions", empty_state("list-checks", "No executions yet", "Runs of your workflows appear here."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/executions", title="Executions · LinkFlow", on_load=AuthState.require_session)
