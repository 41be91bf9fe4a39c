"""A timer in the browser that sends an event every few seconds while its page is open (ticker.jsx).

    ticker(seconds=5, on_tick=SomeState.refresh)

Cheaper and sturdier than a server-side background loop: it stops by itself when the user
leaves the page or closes the tab, and it skips ticks while the tab is hidden.
"""

from __future__ import annotations

import reflex as rx

from ui.components.assets import shared_asset

_SOURCE = shared_asset("ticker.jsx")


class Ticker(rx.Component):
    library = _SOURCE.importable_path
    tag = "Ticker"

    seconds: rx.Var[int]
    on_tick: rx.EventHandler[lambda: []]


ticker = Ticker.create
