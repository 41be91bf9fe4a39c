import os

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(
    app_name="ui",
    telemetry_enabled=False,
    # Baked into the JS bundle at build time; set it before building behind a proxy.
    api_url=os.environ.get("REFLEX_API_URL", "http://127.0.0.1:3000"),
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="violet", radius="medium"))],
    disable_plugins=[SitemapPlugin],
    show_built_with_reflex=False,  # the badge would sit on top of the editor's minimap
)
