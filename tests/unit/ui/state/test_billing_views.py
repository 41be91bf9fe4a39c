"""What the billing page and Admin → Billing show, from the API's answers, and what a plan edit sends."""

import pytest

from ui.state.admin_billing import changes, team_row
from ui.state.billing import meter, plan_card

PRO = {"id": "pro", "name": "Pro", "price_monthly_cents": 2000, "price_yearly_cents": 20000,
       "executions_limit": 10000, "active_workflows_limit": 50, "members_limit": None, "history_days": 30}


def test_usage_bars_turn_amber_at_80_percent_and_red_at_the_limit():
    assert meter("members", "Members", {"used": 1, "limit": 3})["color"] == "green"
    amber = meter("active_workflows", "Active", {"used": 4, "limit": 5})
    assert (amber["percent"], amber["color"], amber["text"]) == (80, "amber", "4 of 5")
    full = meter("executions", "Executions", {"used": 1200, "limit": 1000, "cap": 1000})
    assert (full["percent"], full["color"]) == (100, "red")
    overage = meter("executions", "Executions", {"used": 10, "limit": 10000, "cap": 50000})
    assert overage["text"] == "10 of 10,000 included (up to 50,000 with overage)"
    assert meter("members", "Members", {"used": 7, "limit": None})["text"] == "7 (unlimited)"


def test_a_plan_card_lists_prices_and_limits_and_knows_the_current_plan():
    card = plan_card(PRO, current="pro")
    assert card["current"] and not card["free"]
    assert (card["monthly"], card["yearly"]) == ("$20.00 / month", "$200.00 / year")
    assert card["limits"] == ["10,000 executions per period", "50 active workflows", "Unlimited team members",
                              "History kept 30 days"]


def test_a_plan_edit_sends_null_for_empty_limits_and_refuses_words():
    form = {"name": " Pro ", "executions_limit": "20,000", "overage_limit": "", "active_workflows_limit": "50",
            "members_limit": "10", "history_days": "", "price_monthly_cents": "2000", "price_yearly_cents": "0",
            "stripe_price_monthly": " price_1 ", "stripe_price_yearly": "", "stripe_price_overage": ""}
    body = changes(form)
    assert body["name"] == "Pro" and body["executions_limit"] == 20000 and body["overage_limit"] is None
    assert (body["stripe_price_monthly"], body["stripe_price_yearly"]) == ("price_1", None)
    with pytest.raises(ValueError, match="whole number"):
        changes({**form, "members_limit": "ten"})
    with pytest.raises(ValueError, match="0 for free"):
        changes({**form, "price_monthly_cents": ""})


def test_the_admin_row_shows_usage_against_limits():
    row = team_row({"team_id": "t", "team_name": "Acme", "plan_name": "Free", "status": "free",
                    "period_start": "2026-12-01T00:00:00+00:00", "period_end": "2027-01-01T00:00:00+00:00",
                    "payment_failed_at": None, "usage": {"executions": {"used": 1500, "limit": 1000},
                                                         "active_workflows": {"used": 2, "limit": None},
                                                         "members": {"used": 1, "limit": 3}}})
    assert (row["executions"], row["workflows"], row["members"]) == ("1,500 / 1,000", "2 / ∞", "1 / 3")
    assert row["period"] == "Dec 01, 2026 – Jan 01, 2027" and row["payment"] == ""
