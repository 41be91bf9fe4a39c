import reflex as rx

from ui.components.shell import empty_state, shell
from ui.state.auth import AuthState


def page() -> rx.Component:
    return shell("Audit log", empty_state("scroll-text", "Nothing recorded yet",
                                          "Sign-ins and changes to workflows, credentials and members appear here."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/audit", title="Audit log · LinkFlow", on_load=AuthState.require_session)
