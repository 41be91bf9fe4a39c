"""The global search: a button in the sidebar and Ctrl+K (Cmd+K) anywhere open a dialog that finds the
team's workflows, executions and credentials by name as you type; a result opens its page."""

import reflex as rx

from ui.state.search import SearchState

# One listener per tab, however often the shell is rendered: it clicks the sidebar's button.
_HOTKEY = """
if (!window.__lfSearchHotkey) {
  window.__lfSearchHotkey = true;
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "k") {
      const button = document.getElementById("global-search-button");
      if (button) { event.preventDefault(); button.click(); }
    }
  });
}
"""


def search_button() -> rx.Component:
    return rx.fragment(
        rx.button(
            rx.icon("search", size=16), rx.text("Search", size="2"), rx.spacer(),
            rx.text("Ctrl K", size="1", color=rx.color("gray", 10)),
            id="global-search-button", on_click=SearchState.show, variant="surface", color_scheme="gray",
            width="100%", justify="start", aria_label="Search (Ctrl+K)",
        ),
        rx.script(_HOTKEY),
        search_dialog(),
    )


def _result(item) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.match(item["type"], ("workflow", rx.icon("workflow", size=16)),
                     ("execution", rx.icon("list-checks", size=16)), rx.icon("key-round", size=16)),
            rx.vstack(rx.text(item["title"], size="2", weight="medium"),
                      rx.text(item["subtitle"], size="1", color=rx.color("gray", 10), trim="both"),
                      spacing="0", align="start", min_width="0", flex="1"),
            rx.cond(item["status"] != "", rx.badge(item["status"], size="1", variant="soft")),
            rx.badge(item["type"], size="1", color_scheme="gray"),
            align="center", spacing="3", width="100%",
        ),
        href=item["url"], on_click=SearchState.set_open(False), underline="none", color_scheme="gray",
        high_contrast=True, padding="8px", border_radius="6px", width="100%", data_testid="search-result",
        _hover={"background": rx.color("accent", 3)},
    )


def search_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Search", size="3"),
            rx.form(
                rx.input(rx.input.slot(rx.icon("search", size=16)), placeholder="Workflows, executions, credentials…",
                         value=SearchState.query, on_change=SearchState.set_query, debounce_timeout=250, auto_focus=True,
                         aria_label="Search everything", size="3", width="100%", max_length=200),
                on_submit=SearchState.open_first, reset_on_submit=False, width="100%",
            ),
            rx.cond(SearchState.failed != "", rx.callout(SearchState.failed, icon="triangle-alert", color_scheme="red",
                                                         size="1", margin_top="8px")),
            rx.vstack(rx.foreach(SearchState.results, _result), spacing="1", width="100%", margin_top="8px",
                      max_height="420px", overflow_y="auto"),
            rx.cond((SearchState.searched != "") & (SearchState.results.length() == 0),
                    rx.text("Nothing found for “", SearchState.searched, "”.", size="2", color=rx.color("gray", 10),
                            margin_top="8px")),
            rx.text("Enter opens the first result; Esc closes.", size="1", color=rx.color("gray", 9), margin_top="8px"),
            max_width="560px",
        ),
        open=SearchState.open, on_open_change=SearchState.set_open,
    )
