"""The Reflex app: every page, with the HTTP API mounted in the same process."""

import reflex as rx

from backend.app import create_app
from ui.lifespan import embedded_services
from ui.pages import (
    admin,
    audit,
    auth,
    billing,
    credentials,
    editor,
    executions,
    insights,
    not_found,
    settings,
    templates,
    variables,
    workflows,
)

app = rx.App(
    api_transformer=create_app(),
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
    # Bottom-left: over the palette's foot, never over the node panel's fields or the minimap.
    toaster=rx.toast.provider(position="bottom-left", close_button=True),
)
app.register_lifespan_task(embedded_services)

for page in (auth, workflows, templates, editor, executions, insights, credentials, variables, audit, settings, billing, admin,
             not_found):
    page.register(app)
