"""The app shell: side navigation, team switcher, account menu and a content area every page sits in."""

import reflex as rx

from ui.components.search import search_button
from ui.components.ticker import ticker
from ui.state.auth import AuthState
from ui.state.billing import BillingState
from ui.state.notifications import NotificationsState

NAV = [
    ("Workflows", "/workflows", "workflow"),
    ("Templates", "/templates", "layout-template"),
    ("Executions", "/executions", "list-checks"),
    ("Insights", "/insights", "chart-column"),
    ("Credentials", "/credentials", "key-round"),
    ("Variables", "/variables", "braces"),
    ("Audit log", "/audit", "scroll-text"),
    ("Settings", "/settings", "settings"),
]
ADMIN_NAV = ("Admin", "/admin", "shield")  # instance admins only
BELL_SECONDS = 5  # how often the bell asks for new notifications while a page is open
BILLING_NAV = ("Billing", "/settings/billing", "credit-card")  # owners and admins, while billing is on


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


def brand() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("waypoints", size=22, color=rx.color("accent", 9)), rx.heading("LinkFlow", size="5"),
                  align="center"),
        href="/workflows", underline="none", color_scheme="gray", high_contrast=True,
    )


def team_switcher() -> rx.Component:
    return rx.cond(
        AuthState.teams.length() > 1,
        rx.vstack(
            rx.text("Team", size="1", color=rx.color("gray", 10), weight="medium"),
            rx.select.root(
                rx.select.trigger(width="100%", aria_label="Team"),
                rx.select.content(rx.foreach(AuthState.teams, lambda t: rx.select.item(t["name"], value=t["id"]))),
                value=AuthState.team_id, on_change=AuthState.switch_team, size="2",
            ),
            spacing="1", width="100%",
        ),
        rx.cond(AuthState.team_name != "",
                rx.hstack(rx.icon("users", size=14, color=rx.color("gray", 10)),
                          rx.text(AuthState.team_name, size="2", color=rx.color("gray", 11), trim="both"),
                          align="center", spacing="2", padding_x="4px")),
    )


_ELLIPSIS = {"whiteSpace": "nowrap", "overflow": "hidden", "textOverflow": "ellipsis", "maxWidth": "150px"}


def theme_toggle() -> rx.Component:
    """Light/dark; the first visit follows the browser's preference."""
    return rx.tooltip(rx.color_mode.button(size="1", variant="ghost", color_scheme="gray",
                                           aria_label="Toggle dark mode"), content="Light / dark theme")


def account_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=AuthState.initials, size="2", radius="full"),
                rx.vstack(rx.text(AuthState.user_name, size="2", weight="medium", trim="both", style=_ELLIPSIS),
                          rx.text(AuthState.user_email, size="1", color=rx.color("gray", 10), trim="both",
                                  style=_ELLIPSIS),
                          spacing="0", align="start", min_width="0", flex="1"),
                variant="ghost", color_scheme="gray", width="100%", justify="start", height="auto",
                padding="6px", aria_label="Account",
            ),
        ),
        rx.menu.content(rx.menu.item(rx.icon("log-out", size=14), "Sign out", on_select=AuthState.logout)),
    )


def _notification(item) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.cond(item["unread"], rx.box(width="8px", height="8px", border_radius="50%", flex_shrink="0",
                                           background=rx.color("accent", 9), margin_top="6px"),
                    rx.box(width="8px", flex_shrink="0")),
            rx.vstack(rx.text(item["subject"], size="2", weight=rx.cond(item["unread"], "medium", "regular")),
                      rx.text(rx.cond(item["node"] != "", "at node " + item["node"].to(str) + " · ", ""),
                              item["when"], size="1", color=rx.color("gray", 10)),
                      spacing="0", align="start"),
            align="start", spacing="2",
        ),
        on_click=NotificationsState.open_item(item["id"], item["href"]),
        role="button", cursor="pointer", padding="8px", border_radius="6px", width="100%",
        _hover={"background": rx.color("gray", 3)},
    )


def notification_bell() -> rx.Component:
    """Unread count on a bell; the popover lists the newest notifications (a failed run of your workflow)."""
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("bell", size=18),
                rx.cond(NotificationsState.unread > 0,
                        rx.badge(NotificationsState.unread, color_scheme="red", variant="solid", radius="full",
                                 size="1", position="absolute", top="-4px", right="-6px")),
                variant="ghost", color_scheme="gray", position="relative", aria_label="Notifications",
                on_mount=NotificationsState.load,
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.hstack(rx.text("Notifications", weight="bold", size="3"), rx.spacer(),
                          rx.cond(NotificationsState.unread > 0,
                                  rx.button("Mark all read", size="1", variant="ghost",
                                            on_click=NotificationsState.mark_all_read)),
                          width="100%", align="center"),
                rx.cond(
                    NotificationsState.items.length() > 0,
                    rx.vstack(rx.foreach(NotificationsState.items, _notification), spacing="1", width="100%",
                              max_height="360px", overflow_y="auto"),
                    rx.text(rx.cond(NotificationsState.loaded,
                                    "Nothing yet. You are told here when a workflow you created fails.",
                                    "Loading…"),
                            size="2", color=rx.color("gray", 10)),
                ),
                spacing="2", width="320px",
            ),
            side="right", align="start",
        ),
        on_open_change=NotificationsState.on_open,
    )


def live_bell() -> rx.Component:
    """The bell, refreshed every BELL_SECONDS while the page is open (no reload needed)."""
    return rx.fragment(notification_bell(), ticker(seconds=BELL_SECONDS, on_tick=NotificationsState.tick))


def sidebar() -> rx.Component:
    return rx.vstack(
        rx.hstack(brand(), rx.spacer(), live_bell(), padding="12px", width="100%", align="center"),
        search_button(),
        rx.el.nav(
            rx.vstack(*(_nav_item(*item) for item in NAV),
                      rx.cond(BillingState.enabled & AuthState.is_team_admin, _nav_item(*BILLING_NAV)),
                      rx.cond(AuthState.is_admin, _nav_item(*ADMIN_NAV)),
                      spacing="1", width="100%"),
            aria_label="Main",
            width="100%",
        ),
        rx.spacer(),
        team_switcher(),
        rx.divider(),
        rx.hstack(account_menu(), theme_toggle(), align="center", width="100%", spacing="1"),
        width="220px",
        min_width="220px",
        height="100vh",
        position="sticky",
        top="0",
        padding="12px",
        border_right=f"1px solid {rx.color('gray', 5)}",
        background=rx.color("gray", 2),
    )


def shell(title: str, *children: rx.Component, actions: rx.Component | None = None) -> rx.Component:
    header = rx.hstack(rx.heading(title, size="7"), rx.spacer(), actions or rx.fragment(), align="center",
                       width="100%")
    return rx.hstack(
        sidebar(),
        rx.el.main(
            rx.vstack(header, *children, spacing="4", padding="24px 32px", width="100%", max_width="1200px"),
            width="100%",
        ),
        spacing="0",
        align="start",
        width="100%",
    )


def empty_state(icon: str, title: str, text: str, action: rx.Component | None = None) -> rx.Component:
    return rx.center(
        rx.vstack(rx.icon(icon, size=40, color=rx.color("gray", 8)), rx.heading(title, size="4", as_="h2"),
                  rx.text(text, color=rx.color("gray", 11)), action or rx.fragment(), align="center", spacing="2"),
        padding="64px",
        width="100%",
        border=f"1px dashed {rx.color('gray', 6)}",
        border_radius="12px",
    )
