"""The page for an address that does not exist: says so, and offers the way back."""

import reflex as rx


def page() -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(
                rx.icon("map-pin-off", size=32, color=rx.color("gray", 9)),
                rx.heading("Page not found", size="5"),
                rx.text("There is nothing at this address. It may have been moved or deleted, or the link is "
                        "mistyped.", size="2", color=rx.color("gray", 11), text_align="center"),
                rx.link(rx.button(rx.icon("arrow-left", size=14), "Back to workflows"), href="/workflows"),
                align="center", spacing="3", padding="12px", max_width="380px",
            ),
        ),
        min_height="100vh", width="100%", background=rx.color("gray", 2),
    )


def register(app: rx.App) -> None:
    app.add_page(page, route="404", title="Page not found · LinkFlow")
