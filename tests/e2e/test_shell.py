from playwright.sync_api import Page, expect


def test_home_page_shows_the_linkflow_shell(signed_in_page: Page, base_url: str):
    page = signed_in_page
    page.goto(base_url + "/")
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Workflows", "Executions", "Insights", "Credentials", "Variables", "Audit log", "Settings"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_role("heading", name="Workflows", exact=True)).to_be_visible()


def test_navigation_moves_between_pages(signed_in_page: Page, base_url: str):
    page = signed_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Executions").click()
    expect(page).to_have_url(base_url + "/executions")
    expect(page.get_by_role("heading", name="Executions", exact=True)).to_be_visible()
