"""The app shell: side navigation and a content area every page sits in."""

import reflex as rx

NAV = [
    ("Workflows", "/workflows", "workflow"),
    ("Executions", "/executions", "list-checks"),
    ("Credentials", "/credentials", "key-round"),
    ("Settings", "/settings", "settings"),
]


def _nav_item(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=href,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
        padding="8px 12px",
        border_radius="8px",
        width="100%",
        _hover={"background": rx.color("accent", 3)},
    )


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.icon("waypoints", size=22, color=rx.color("accent", 9)),
                  rx.heading("LinkFlow", size="5"), align="center", padding="12px"),
        rx.el.nav(
            rx.vstack(*(_nav_item(*item) for item in NAV), spacing="1", width="100%"),
            aria_label="Main",
            width="100%",
        ),
        width="220px",
        min_height="100vh",
        padding="12px",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
    )


def shell(title: str, *children: rx.Component) -> rx.Component:
    return rx.hstack(
        sidebar(),
        rx.el.main(
            rx.vstack(rx.heading(title, size="7"), *children, spacing="4", padding="24px", width="100%"),
            width="100%",
        ),
        spacing="0",
        align="start",
        width="100%",
    )


def empty_state(icon: str, title: str, text: str) -> rx.Component:
    return rx.center(
        rx.vstack(rx.icon(icon, size=40, color=rx.color("gray", 8)), rx.heading(title, size="4", as_="h2"),
                  rx.text(text, color=rx.color("gray", 11)), align="center", spacing="2"),
        padding="64px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="12px",
    )
