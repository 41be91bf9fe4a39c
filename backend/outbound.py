"""This installation's address policy, for every connection made on a user's behalf.

LINKFLOW_HTTP_ALLOW_PRIVATE and LINKFLOW_HTTP_ALLOW_LIST decide which internal addresses
may be reached; ``nodes/sdk/net.py`` applies them. Nodes get them in their settings
(``node_settings``); credential tests and OAuth2 token calls use ``address_policy``.
"""

from __future__ import annotations

from backend.settings import get_settings
from nodes.sdk.net import AddressPolicy


def node_settings() -> dict:
    """The policy as the settings every node run receives (``ctx.settings``)."""
    settings = get_settings()
    http = settings.http
    return {"http_allow_private": http.allow_private,
            "http_allow_list": [h.strip() for h in http.allow_list.split(",") if h.strip()],
            "disk_root": settings.storage.disk_root}  # Read/Write Files from Disk: the one folder allowed


def address_policy() -> AddressPolicy:
    return AddressPolicy.from_settings(node_settings())
