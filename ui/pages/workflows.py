import reflex as rx

from ui.components.shell import empty_state, shell


def page() -> rx.Component:
    return shell("Workflows", empty_state("workflow", "No workflows yet", "Workflows you create appear here."))


def register(app: rx.App) -> None:
    app.add_page(page, route="/workflows", title="Workflows · LinkFlow")
    app.add_page(page, route="/", title="LinkFlow")
