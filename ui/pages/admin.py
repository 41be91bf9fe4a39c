"""/admin: the instance admin console — users, teams, workers and queue, errors, health."""

import reflex as rx

from ui.components.shell import empty_state, shell
from ui.pages.admin_billing import billing_tab
from ui.state.admin import AdminState
from ui.state.auth import AuthState

GRAY = rx.color("gray", 11)


def _loading(tab: str, content: rx.Component) -> rx.Component:
    return rx.cond(AdminState.loaded[tab], content, rx.center(rx.spinner(size="3"), padding="48px", width="100%"))


def _table(headers: list[str], body: rx.Component, testid: str) -> rx.Component:
    return rx.table.root(rx.table.header(rx.table.row(*(rx.table.column_header_cell(h) for h in headers))),
                         rx.table.body(body), variant="surface", width="100%", data_testid=testid)


def _search(placeholder: str, value, on_change) -> rx.Component:
    return rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder=placeholder, value=value,
                    on_change=on_change, debounce_timeout=300, aria_label=placeholder, width="320px")


def _user_actions(u) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.icon_button(rx.icon("ellipsis", size=16), variant="ghost", color_scheme="gray",
                                       aria_label=f"Actions for {u['email']}")),
        rx.menu.content(
            rx.cond(u["is_admin"].to(bool),
                    rx.menu.item("Revoke instance admin", on_select=AdminState.set_user_admin(u["id"], u["email"], False)),
                    rx.menu.item("Make instance admin", on_select=AdminState.set_user_admin(u["id"], u["email"], True))),
            rx.cond(u["two_factor"].to(bool),
                    rx.menu.item("Reset two-factor sign-in",
                                 on_select=AdminState.reset_two_factor(u["id"], u["email"]))),
            rx.menu.separator(),
            rx.cond(u["is_active"].to(bool),
                    rx.menu.item("Deactivate", color="red",
                                 on_select=AdminState.set_user_active(u["id"], u["email"], False)),
                    rx.menu.item("Reactivate", on_select=AdminState.set_user_active(u["id"], u["email"], True))),
        ),
    )


def _user_row(u) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(u["email"], weight="medium", size="2"),
                                rx.text(u["name"], size="1", color=GRAY), spacing="0")),
        rx.table.cell(rx.hstack(rx.cond(u["is_admin"].to(bool), rx.badge("admin", color_scheme="violet")),
                                rx.cond(u["two_factor"].to(bool), rx.badge("2FA", color_scheme="blue")),
                                rx.cond(u["is_active"].to(bool), rx.badge("active", color_scheme="green"),
                                        rx.badge("deactivated", color_scheme="red")), spacing="1")),
        rx.table.cell(rx.text(u["teams"], size="2")),
        rx.table.cell(rx.text(u["last_login"], size="2", color=GRAY)),
        rx.table.cell(rx.text(u["created"], size="2", color=GRAY)),
        rx.table.cell(_user_actions(u), text_align="right"),
        align="center", data_testid="admin-user-row",
    )


def _users() -> rx.Component:
    return rx.vstack(
        rx.hstack(_search("Search users", AdminState.user_search, AdminState.set_user_search), rx.spacer(),
                  rx.text(AdminState.users_total, " users", size="2", color=GRAY), width="100%", align="center"),
        _loading("users", rx.cond(AdminState.users.length() > 0,
                                  _table(["User", "Status", "Teams", "Last sign-in", "Created", ""],
                                         rx.foreach(AdminState.users, _user_row), "admin-users"),
                                  empty_state("users", "No users match", "Try another search."))),
        width="100%", spacing="3",
    )


def _team_row(t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(t["name"], weight="medium", size="2"),
                                rx.text(t["slug"], size="1", color=GRAY), spacing="0")),
        rx.table.cell(rx.text(t["members"], size="2")), rx.table.cell(rx.text(t["workflows"], size="2")),
        rx.table.cell(rx.text(t["executions"], size="2")), rx.table.cell(rx.text(t["created"], size="2", color=GRAY)),
        align="center", data_testid="admin-team-row",
    )


def _teams() -> rx.Component:
    return rx.vstack(
        rx.hstack(_search("Search teams", AdminState.team_search, AdminState.set_team_search), rx.spacer(),
                  rx.text(AdminState.teams_total, " teams", size="2", color=GRAY), width="100%", align="center"),
        _loading("teams", rx.cond(AdminState.teams.length() > 0,
                                  _table(["Team", "Members", "Workflows", "Executions", "Created"],
                                         rx.foreach(AdminState.teams, _team_row), "admin-teams"),
                                  empty_state("users", "No teams match", "Try another search."))),
        width="100%", spacing="3",
    )


def _stat(label: str, value) -> rx.Component:
    return rx.card(rx.vstack(rx.text(label, size="1", color=GRAY), rx.heading(value, size="6"), spacing="1"),
                   min_width="140px", data_testid=f"queue-{label.lower()}")


def _worker_row(w) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.cond(w["alive"].to(bool), rx.badge("alive", color_scheme="green"),
                              rx.badge("not responding", color_scheme="red"))),
        rx.table.cell(rx.text(w["role"], size="2", weight="medium")),
        rx.table.cell(rx.text(w["host"], ":", w["pid"], size="2")),
        rx.table.cell(rx.text(w["seen"], size="2", color=GRAY)),
        rx.table.cell(rx.text(w["started"], size="2", color=GRAY)),
        rx.table.cell(rx.text(w["details"], size="1", color=GRAY)),
        align="center", data_testid="worker-row",
    )


def _workers() -> rx.Component:
    by_mode = _table(["Started by", "Queued", "Running", "Waiting"], rx.foreach(
        AdminState.queue_by_mode, lambda m: rx.table.row(*(rx.table.cell(m[k]) for k in
                                                           ("mode", "queued", "running", "waiting")))), "queue-by-mode")
    redis = rx.cond(AdminState.redis_queues.length() > 0, _table(
        ["Redis queue", "Ready", "Delayed (retries)", "In Redis", "Dead-lettered"],
        rx.foreach(AdminState.redis_queues, lambda q: rx.table.row(
            *(rx.table.cell(q[k]) for k in ("name", "ready", "delayed", "in_redis", "dead_lettered")))), "redis-queues"))
    return _loading("workers", rx.vstack(
        rx.hstack(
            _stat("Queued", AdminState.queue_overall["queued"]), _stat("Running", AdminState.queue_overall["running"]),
            _stat("Waiting", AdminState.queue_overall["waiting"]), _stat("Alive", AdminState.alive),
            rx.spacer(),
            rx.vstack(rx.cond(AdminState.live, rx.badge(rx.icon("radio", size=12), "Live", color_scheme="green"),
                              rx.button(rx.icon("refresh-cw", size=14), "Refresh", size="1", variant="soft",
                                        on_click=AdminState.refresh)),
                      rx.text("Updated ", AdminState.refreshed_at, size="1", color=GRAY, data_testid="refreshed-at"), align="end"),
            width="100%", align="center", spacing="3",
        ),
        rx.text("Queue backend: ", AdminState.queue_backend, size="2", color=GRAY),
        rx.cond(AdminState.redis_error != "", rx.callout(AdminState.redis_error, icon="triangle-alert", color="red")),
        redis,
        rx.cond(AdminState.queue_by_mode.length() > 0, by_mode),
        rx.heading("Processes", size="4", as_="h2"),
        rx.cond(AdminState.workers.length() > 0,
                _table(["Status", "Role", "Host:pid", "Last heartbeat", "Started", "Details"],
                       rx.foreach(AdminState.workers, _worker_row), "workers"),
                empty_state("cpu", "No worker has reported yet",
                            "Workers, schedulers and consumers send a heartbeat every 10 seconds.")),
        width="100%", spacing="3",
    ))


def _failure_row(e) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(e["when"], size="2", color=GRAY, white_space="nowrap")),
        rx.table.cell(rx.text(e["team"], size="2")),
        rx.table.cell(rx.text(e["workflow"], size="2")),
        rx.table.cell(rx.code(e["node"], variant="ghost")),
        rx.table.cell(rx.text(e["message"], size="2", color=rx.color("red", 11))),
        rx.table.cell(rx.text(e["mode"], size="1", color=GRAY)),
        align="center", data_testid="failure-row",
    )


def _errors() -> rx.Component:
    outbox = rx.card(rx.hstack(
        rx.vstack(rx.text("Outbox events not yet published", size="1", color=GRAY),
                  rx.heading(AdminState.outbox["unpublished"], size="5"), spacing="1"),
        rx.vstack(rx.text("Failing to publish", size="1", color=GRAY),
                  rx.heading(AdminState.outbox["failing"], size="5"), spacing="1"),
        rx.vstack(rx.text("Oldest unpublished", size="1", color=GRAY),
                  rx.text(AdminState.outbox["oldest"], size="2"), spacing="1"),
        rx.vstack(rx.text("Dead-lettered (", AdminState.dead_letters["topic"], ")", size="1", color=GRAY),
                  rx.heading(AdminState.dead_letters["messages"], size="5", data_testid="dead-letters"),
                  rx.text(AdminState.dead_letters["scope"], " ", AdminState.dead_letters["by_service"], size="1",
                          color=GRAY), spacing="1"),
        spacing="6"), width="100%")
    dlq_error = rx.cond(AdminState.dead_letters["error"] != "",
                        rx.callout(AdminState.dead_letters["error"], icon="triangle-alert", color="red"))
    stuck = rx.cond(AdminState.outbox_failing, _table(["Event", "Topic", "Attempts", "Last error"], rx.foreach(
        AdminState.outbox_errors, lambda e: rx.table.row(*(rx.table.cell(e[k]) for k in
                                                            ("id", "topic", "attempts", "error")))), "outbox-errors"))
    return _loading("errors", rx.vstack(
        rx.hstack(rx.heading("Failed executions", size="4", as_="h2"), rx.spacer(),
                  rx.button(rx.icon("refresh-cw", size=14), "Refresh", size="1", variant="soft",
                            on_click=AdminState.refresh), width="100%"),
        rx.cond(AdminState.failures.length() > 0,
                _table(["Finished", "Team", "Workflow", "Node", "Error", "Mode"],
                       rx.foreach(AdminState.failures, _failure_row), "failures"),
                empty_state("circle-check", "No failed executions", "Failures of every team show up here.")),
        rx.heading("Event delivery", size="4", as_="h2"), outbox, dlq_error, stuck,
        width="100%", spacing="3",
    ))


def _health() -> rx.Component:
    row = lambda c: rx.table.row(  # noqa: E731
        rx.table.cell(rx.text(c["name"], weight="medium")),
        rx.table.cell(rx.cond(c["ok"] == "yes", rx.badge("ok", color_scheme="green"),
                              rx.badge("failing", color_scheme="red"))),
        rx.table.cell(rx.text(c["result"], size="2", color=GRAY)), data_testid="health-row")
    return _loading("health", rx.vstack(
        rx.hstack(rx.cond(AdminState.health_status == "ok",
                          rx.callout("All systems ready", icon="circle-check", color="green", width="100%"),
                          rx.callout("Some dependencies are unavailable", icon="triangle-alert", color="red",
                                     width="100%")),
                  rx.button(rx.icon("refresh-cw", size=14), "Check again", size="2", variant="soft",
                            on_click=AdminState.refresh), width="100%", align="center"),
        _table(["Dependency", "Status", "Result"], rx.foreach(AdminState.checks, row), "health"),
        _code_sandbox(), width="100%", spacing="3",
    ))


def _code_sandbox() -> rx.Component:
    sandbox = AdminState.code_sandbox
    badge = rx.match(sandbox["state"], ("working", rx.badge("working", color_scheme="green")),
                     ("failing", rx.badge("failing", color_scheme="red")),
                     rx.badge("runs in the workers", color_scheme="gray"))
    unsafe = rx.cond(sandbox["mode"] == "unsafe_process",
                     rx.callout("Code nodes run without a sandbox: every workflow editor can read this server's "
                                "secrets. Only for a single-user machine.", icon="shield-alert", color="red",
                                width="100%"))
    return rx.card(rx.vstack(
        rx.hstack(rx.text("Code sandbox", weight="medium"), rx.code(sandbox["mode"]), badge, align="center"),
        rx.text(sandbox["detail"], size="2", color=GRAY), unsafe, spacing="2", width="100%"),
        width="100%", data_testid="code-sandbox")


def _audit_row(e) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(e["when"], size="2", color=GRAY, white_space="nowrap")),
        rx.table.cell(rx.code(e["action"], variant="ghost")), rx.table.cell(rx.text(e["actor"], size="2")),
        rx.table.cell(rx.text(e["target"], size="2", color=GRAY)),
        rx.table.cell(rx.text(e["team"], size="1", color=GRAY)), rx.table.cell(rx.text(e["ip"], size="1", color=GRAY)),
        align="center", data_testid="admin-audit-row",
    )


def _audit() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.input(placeholder="Action, e.g. admin.* or auth.login_failed", value=AdminState.audit_action,
                           on_change=AdminState.set_audit_action, debounce_timeout=400,
                           aria_label="Filter instance audit by action", width="360px"),
                  rx.spacer(),
                  rx.text("Latest of ", AdminState.audit_total, " entries, every team and the instance itself",
                          size="2", color=GRAY), width="100%", align="center"),
        _loading("audit", rx.cond(AdminState.audit_rows.length() > 0,
                                  _table(["Time (UTC)", "Action", "Actor", "Target", "Team", "IP"],
                                         rx.foreach(AdminState.audit_rows, _audit_row), "admin-audit"),
                                  empty_state("scroll-text", "No entries match", "Try another action filter."))),
        width="100%", spacing="3",
    )


def _console() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(rx.tabs.trigger("Users", value="users"), rx.tabs.trigger("Teams", value="teams"),
                     rx.tabs.trigger("Workers & queue", value="workers"), rx.tabs.trigger("Errors", value="errors"),
                     rx.tabs.trigger("Health", value="health"), rx.tabs.trigger("Audit", value="audit"),
                     rx.tabs.trigger("Billing", value="billing")),
        rx.tabs.content(_users(), value="users", padding_top="16px"),
        rx.tabs.content(_teams(), value="teams", padding_top="16px"),
        rx.tabs.content(_workers(), value="workers", padding_top="16px"),
        rx.tabs.content(_errors(), value="errors", padding_top="16px"),
        rx.tabs.content(_health(), value="health", padding_top="16px"),
        rx.tabs.content(_audit(), value="audit", padding_top="16px"),
        rx.tabs.content(billing_tab(_loading), value="billing", padding_top="16px"),
        value=AdminState.tab, on_change=AdminState.set_tab, width="100%",
    )


def page() -> rx.Component:
    admins_only = empty_state("shield-off", "Admins only",
                              "The admin console is for instance admins. Ask one to grant you access.")
    return shell("Admin", rx.cond(AdminState.forbidden, admins_only, _console()))


def register(app: rx.App) -> None:
    app.add_page(page, route="/admin", title="Admin · LinkFlow",
                 on_load=[AuthState.require_session, AdminState.open_page])
