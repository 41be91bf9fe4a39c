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
    settings,
    variables,
    workflows,
)

app = rx.App(
    api_transformer=create_app(),
)
app.register_lifespan_task(embedded_services)

for page in (auth, workflows, editor, executions, insights, credentials, variables, audit, settings, billing, admin):
    page.register(app)
