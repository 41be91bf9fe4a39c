"""An execution's or step's status as a coloured badge."""

import reflex as rx

STATUS_COLORS = {"succeeded": "green", "failed": "red", "running": "blue", "queued": "gray", "waiting": "amber",
                 "cancelled": "orange", "skipped": "gray", "disabled": "gray"}


def status_badge(status) -> rx.Component:
    return rx.match(
        status,
        *[(s, rx.badge(s, color_scheme=c, variant="soft", radius="full")) for s, c in STATUS_COLORS.items()],
        rx.badge(status, variant="soft", radius="full"),
    )
