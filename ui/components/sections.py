"""Building blocks of console pages: titled sections, labelled fields, form errors, loading states."""

import reflex as rx


def field(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"), control,
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        spacing="1", width="100%",
    )


def form_error(message) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="circle-alert", color_scheme="red", role="alert",
                                             size="1", width="100%"))


def section(title: str, text: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, size="4", as_="h2"), rx.text(text, size="2", color=rx.color("gray", 11)),
                  *children, spacing="3", width="100%"),
        width="100%", **props,
    )


def loading_or(loaded, error, retry, content: rx.Component) -> rx.Component:
    """The content once loaded; before that a spinner, or what went wrong with a way to try again."""
    return rx.cond(
        error != "",
        rx.callout.root(rx.callout.icon(rx.icon("circle-alert")), rx.callout.text(error),
                        rx.button("Try again", size="1", variant="soft", on_click=retry, width="fit-content"),
                        color_scheme="red", role="alert", width="100%"),
        rx.cond(loaded, content, rx.center(rx.spinner(size="3"), padding="48px", width="100%")),
    )
