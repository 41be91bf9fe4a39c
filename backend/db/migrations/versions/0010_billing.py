"""billing: plans as typed limits with Stripe prices (seeded Free, Pro, Business), subscription state,
usage per billing period, metered executions, meter reports, handled Stripe events

Revision ID: 0010_billing
Revises: 0009_lost_attempts
Create Date: 2026-12-08 09:00:00

The three tables of 0001 (plans, subscriptions, usage) are evolved in place: a plan's `limits` JSON
becomes one column per limit (an existing row keeps what its JSON said), `price_cents` is the
monthly price, and `usage.period` holds the period's start instead of a month. Downgrade folds the
columns back into `limits`, and sums usage per month; the seeded plans stay (subscriptions may
point at them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db.base

revision: str = "0010_billing"
down_revision: str | None = "0009_lost_attempts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIMIT_COLUMNS = ("executions_limit", "overage_limit", "active_workflows_limit", "members_limit", "history_days")
# What a `limits` JSON written before this revision may call each limit.
OLD_LIMIT_KEYS = {"executions_limit": ("executions", "executions_per_month"), "overage_limit": ("overage",),
                  "active_workflows_limit": ("active_workflows",), "members_limit": ("members",),
                  "history_days": ("history_days", "retention_days")}
SEED = [
    {"id": "free", "name": "Free", "position": 0, "price_monthly_cents": 0, "price_yearly_cents": 0,
     "executions_limit": 1_000, "overage_limit": 0, "active_workflows_limit": 5, "members_limit": 3,
     "history_days": 7},
    {"id": "pro", "name": "Pro", "position": 1, "price_monthly_cents": 2_000, "price_yearly_cents": 20_000,
     "executions_limit": 10_000, "overage_limit": 40_000, "active_workflows_limit": 50, "members_limit": 10,
     "history_days": 30},
    {"id": "business", "name": "Business", "position": 2, "price_monthly_cents": 10_000,
     "price_yearly_cents": 100_000, "executions_limit": 100_000, "overage_limit": None,
     "active_workflows_limit": None, "members_limit": 50, "history_days": 90},
]
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Utc = backend.db.base.UtcDateTime(timezone=True)


def upgrade() -> None:
    _upgrade_plans()
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billing_interval", sa.String(length=8), server_default="month", nullable=False))
        batch_op.add_column(sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column("payment_failed_at", Utc, nullable=True))
        batch_op.add_column(sa.Column("grace_until", Utc, nullable=True))
        batch_op.add_column(sa.Column("stripe_state_at", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_subscriptions_stripe_customer_id"), ["stripe_customer_id"])
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.alter_column("period", existing_type=sa.String(length=7), type_=sa.String(length=20),
                              existing_nullable=False)
    op.execute("UPDATE usage SET period = period || '-01T00:00:00Z' WHERE length(period) = 7")
    _create_new_tables()


def _upgrade_plans() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.alter_column("price_cents", new_column_name="price_monthly_cents", existing_type=sa.Integer(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("is_public", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("price_yearly_cents", sa.Integer(), server_default="0", nullable=False))
        for name in LIMIT_COLUMNS:
            default = "0" if name == "overage_limit" else None
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default=default, nullable=True))
        for name in ("stripe_price_monthly", "stripe_price_yearly", "stripe_price_overage"):
            batch_op.add_column(sa.Column(name, sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("updated_at", Utc, nullable=True))
    bind = op.get_bind()
    plans = sa.table("plans", sa.column("id", sa.String), sa.column("limits", JSON),
                     sa.column("stripe_price_id", sa.String), sa.column("stripe_price_monthly", sa.String),
                     *(sa.column(name, sa.Integer) for name in LIMIT_COLUMNS))
    for row in bind.execute(sa.select(plans.c.id, plans.c.limits, plans.c.stripe_price_id)).all():
        limits = row.limits if isinstance(row.limits, dict) else {}
        values = {column: next((limits[k] for k in keys if isinstance(limits.get(k), int)), None)
                  for column, keys in OLD_LIMIT_KEYS.items()}
        values["overage_limit"] = values["overage_limit"] or 0
        bind.execute(plans.update().where(plans.c.id == row.id)
                     .values(stripe_price_monthly=row.stripe_price_id, **values))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("interval")
        batch_op.drop_column("limits")
        batch_op.drop_column("stripe_price_id")
    existing = {plan_id for (plan_id,) in bind.execute(sa.text("SELECT id FROM plans"))}
    seed = sa.table("plans", *(sa.column(name) for name in SEED[0]), sa.column("is_public", sa.Boolean))
    rows = [{**plan, "is_public": True} for plan in SEED if plan["id"] not in existing]
    if rows:
        bind.execute(seed.insert(), rows)


def _create_new_tables() -> None:
    op.create_table(
        "usage_records",
        sa.Column("execution_id", sa.String(length=32), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("overage", sa.Boolean(), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=True),
        sa.Column("occurred_at", Utc, nullable=False),
        sa.Column("counted_at", Utc, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_usage_records_team_id_teams"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("execution_id", name=op.f("pk_usage_records")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_usage_records_team_id"), ["team_id", "period"], unique=False)
        batch_op.create_index(batch_op.f("ix_usage_records_report_id"), ["report_id"], unique=False)
    op.create_table(
        "meter_reports",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", Utc, nullable=False),
        sa.Column("sent_at", Utc, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_meter_reports_team_id_teams"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_reports")),
    )
    with op.batch_alter_table("meter_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meter_reports_sent_at"), ["sent_at"], unique=False)
    op.create_table(
        "billing_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("received_at", Utc, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_billing_events_team_id_teams"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_events")),
    )


def downgrade() -> None:
    op.drop_table("billing_events")
    with op.batch_alter_table("meter_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meter_reports_sent_at"))
    op.drop_table("meter_reports")
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_usage_records_report_id"))
        batch_op.drop_index(batch_op.f("ix_usage_records_team_id"))
    op.drop_table("usage_records")
    _usage_back_to_months()
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_subscriptions_stripe_customer_id"), type_="unique")
        for name in ("stripe_state_at", "grace_until", "payment_failed_at", "cancel_at_period_end",
                     "billing_interval"):
            batch_op.drop_column(name)
    _downgrade_plans()


def _usage_back_to_months() -> None:
    """Periods become months again; periods that started in the same month are added up."""
    bind = op.get_bind()
    usage = sa.table("usage", sa.column("id", sa.String), sa.column("team_id", sa.String),
                     sa.column("period", sa.String), sa.column("metric", sa.String), sa.column("quantity", sa.Integer))
    totals: dict[tuple[str, str, str], tuple[str, int]] = {}
    for row in bind.execute(sa.select(usage).order_by(usage.c.period)).all():
        key = (row.team_id, row.period[:7], row.metric)
        first_id, quantity = totals.get(key, (row.id, 0))
        totals[key] = (first_id, quantity + row.quantity)
    bind.execute(usage.delete())
    with op.batch_alter_table("usage", schema=None) as batch_op:
        batch_op.alter_column("period", existing_type=sa.String(length=20), type_=sa.String(length=7),
                              existing_nullable=False)
    rows = [{"id": row_id, "team_id": team, "period": month, "metric": metric, "quantity": quantity}
            for (team, month, metric), (row_id, quantity) in totals.items()]
    if rows:
        bind.execute(usage.insert(), rows)


def _downgrade_plans() -> None:
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interval", sa.String(length=16), server_default="month", nullable=False))
        batch_op.add_column(sa.Column("limits", JSON, nullable=True))
        batch_op.add_column(sa.Column("stripe_price_id", sa.String(length=100), nullable=True))
    bind = op.get_bind()
    plans = sa.table("plans", sa.column("id", sa.String), sa.column("limits", JSON),
                     sa.column("stripe_price_id", sa.String), sa.column("stripe_price_monthly", sa.String),
                     *(sa.column(name, sa.Integer) for name in LIMIT_COLUMNS))
    for row in bind.execute(sa.select(plans)).all():
        limits = {OLD_LIMIT_KEYS[name][0]: getattr(row, name) for name in LIMIT_COLUMNS
                  if getattr(row, name) is not None}
        bind.execute(plans.update().where(plans.c.id == row.id)
                     .values(limits=limits, stripe_price_id=row.stripe_price_monthly))
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.alter_column("limits", existing_type=JSON, nullable=False)
        batch_op.alter_column("price_monthly_cents", new_column_name="price_cents", existing_type=sa.Integer(),
                              existing_nullable=False)
        for name in ("updated_at", "stripe_price_overage", "stripe_price_yearly", "stripe_price_monthly",
                     *reversed(LIMIT_COLUMNS), "price_yearly_cents", "is_public", "position"):
            batch_op.drop_column(name)
