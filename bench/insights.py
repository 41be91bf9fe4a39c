"""Insights queries over 1,000,000 executions on PostgreSQL: every /api/v1/analytics query, p50/p95.

    eval "$(bash deploy/local/infra.sh env)"
    .venv/bin/python bench/insights.py                       # 1,000,000 executions, 30 calls per query
    .venv/bin/python bench/insights.py --executions 200000 --calls 10

Creates a private database on the loopback PostgreSQL of LINKFLOW_TEST_POSTGRES_URL (dropped at the end),
migrates it, and makes the rollup source data in the database itself: `--executions` finished executions
(generate_series) spread over the last 60 days (so the 30-day view has a previous period too), 90 % of
them in one team (the team queried; nine others share the rest), over 200 workflows (a few busy, many
quiet), modes webhook 60 % / schedule 30 % / manual 7 % / retry 3 %, 5 % failed in one of five nodes,
durations from 10 ms to 10 s. They are counted into the hour and day rollups and the failures per day with
the duration buckets of backend/analytics (one INSERT ... SELECT each, checked against the source), and
100 workflows get a time saved per run. Then each query of the Insights page and the executions dashboard
is called through the real app (FastAPI, auth, the team check) `--calls` times after one warm-up call.
Printed: rows, load time, and p50 / p95 / max per query; the target is p95 < 200 ms for each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.analytics.models import DURATION_BUCKETS_MS as BUCKETS  # noqa: E402

TARGET_MS = 200.0
WORKFLOWS = 200
TEAMS = 10


def bucket_case(column: str) -> str:
    """backend.analytics.service.duration_bucket in SQL."""
    arms = " ".join(f"WHEN {column} <= {bound} THEN {index}" for index, bound in enumerate(BUCKETS))
    return f"CASE {arms} ELSE {len(BUCKETS) - 1} END"


def load(conn, team_ids: list[str], workflow_ids: list[str], executions: int, now: datetime) -> dict:
    """The source executions (a temporary table) and the rollups counted from them; returns row counts."""
    conn.execute("""
        CREATE TEMPORARY TABLE bench_executions AS
        SELECT CASE WHEN random() < 0.9 THEN 0 ELSE 1 + mod(n, %(others)s) END AS team,
               floor(%(workflows)s * power(random(), 2))::int AS workflow,
               CASE WHEN r < 0.6 THEN 'webhook' WHEN r < 0.9 THEN 'schedule' WHEN r < 0.97 THEN 'manual'
                    ELSE 'retry' END AS mode,
               CASE WHEN random() < 0.05 THEN 'failed' ELSE 'succeeded' END AS status,
               %(now)s::timestamptz - random() * interval '60 days' AS finished_at,
               power(10, 1 + 3 * random()) AS duration_ms,
               (random() * 20)::int AS items,
               mod(n, 5) AS node
        FROM (SELECT n, random() AS r FROM generate_series(1, %(executions)s) AS n) AS s
    """.replace("%(others)s", str(TEAMS - 1)).replace("%(workflows)s", str(WORKFLOWS)),
        {"now": now, "executions": executions})
    conn.execute("CREATE TEMPORARY TABLE bench_teams (n int, id text)")
    conn.execute("CREATE TEMPORARY TABLE bench_workflows (n int, id text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bench_teams VALUES (%s, %s)", list(enumerate(team_ids)))
        cur.executemany("INSERT INTO bench_workflows VALUES (%s, %s)", list(enumerate(workflow_ids)))
    conn.execute("""
        INSERT INTO analytics_time_saved (workflow_id, team_id, minutes_per_run, updated_at)
        SELECT w.id, %(team)s, 1 + mod(w.n, 15), now() FROM bench_workflows w WHERE mod(w.n, 2) = 0""",
                 {"team": team_ids[0]})
    bucket = bucket_case("e.duration_ms")
    histogram = ", ".join(f"sum(CASE WHEN {bucket} = {index} THEN 1 ELSE 0 END)" for index in range(len(BUCKETS)))
    columns = ", ".join(f"d{index}" for index in range(len(BUCKETS)))
    for granularity in ("hour", "day"):
        conn.execute(f"""
            INSERT INTO analytics_execution_rollups (team_id, granularity, period_start, workflow_id, mode, status,
                                                     executions, duration_ms, items, time_saved_minutes,
                                                     d_unknown, {columns})
            SELECT t.id, '{granularity}', date_trunc('{granularity}', e.finished_at AT TIME ZONE 'UTC')
                   AT TIME ZONE 'UTC', w.id, e.mode, e.status, count(*), sum(e.duration_ms), sum(e.items),
                   sum(CASE WHEN e.status = 'succeeded' AND e.mode <> 'manual' THEN coalesce(s.minutes_per_run, 0)
                            ELSE 0 END), 0, {histogram}
            FROM bench_executions e JOIN bench_teams t ON t.n = e.team JOIN bench_workflows w ON w.n = e.workflow
                 LEFT JOIN analytics_time_saved s ON s.workflow_id = w.id AND s.team_id = t.id
            GROUP BY 1, 2, 3, 4, 5, 6""")
    conn.execute(f"""
        INSERT INTO analytics_team_rollups (team_id, granularity, period_start, mode, status, executions,
                                            duration_ms, items, time_saved_minutes, d_unknown, {columns})
        SELECT team_id, granularity, period_start, mode, status, sum(executions), sum(duration_ms), sum(items),
               sum(time_saved_minutes), sum(d_unknown), {", ".join(f"sum(d{index})" for index in range(len(BUCKETS)))}
        FROM analytics_execution_rollups GROUP BY 1, 2, 3, 4, 5""")
    conn.execute("""
        INSERT INTO analytics_failures (team_id, day, workflow_id, failed_node, failures)
        SELECT t.id, date_trunc('day', e.finished_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', w.id,
               'Node ' || e.node, count(*)
        FROM bench_executions e JOIN bench_teams t ON t.n = e.team JOIN bench_workflows w ON w.n = e.workflow
        WHERE e.status = 'failed' GROUP BY 1, 2, 3, 4""")
    conn.execute("ANALYZE")
    counted = {f"{g} {table}": conn.execute(f"SELECT sum(executions), count(*) FROM analytics_{table}_rollups "
                                            "WHERE granularity = %s", (g,)).fetchone()
               for g in ("hour", "day") for table in ("execution", "team")}
    for label, (total, _) in counted.items():
        assert int(total) == executions, f"{label} rollups count {total} executions, not {executions}"
    histogram_total = conn.execute(f"SELECT sum({' + '.join(f'd{i}' for i in range(len(BUCKETS)))}) "
                                   "FROM analytics_team_rollups WHERE granularity = 'day'").fetchone()[0]
    assert int(histogram_total) == executions, f"the histograms hold {histogram_total} runs"
    source_failed = conn.execute("SELECT count(*) FROM bench_executions WHERE status = 'failed'").fetchone()[0]
    assert conn.execute("SELECT sum(failures) FROM analytics_failures").fetchone()[0] == source_failed
    return {**{f"{label} rollup rows": rows for label, (_, rows) in counted.items()},
            "failure rows": conn.execute("SELECT count(*) FROM analytics_failures").fetchone()[0]}


def queries(now: datetime, busy_workflow: str) -> list[tuple[str, str, dict]]:
    from ui.executions.view import rollup_query
    from ui.insights.view import query

    day, week, month = query("24h", now), query("7d", now), query("30d", now)
    longest_hours = {"since": (now - timedelta(days=31)).isoformat(), "until": now.isoformat(),
                     "granularity": "hour"}
    dashboard = rollup_query("30d", now)
    return [
        ("summary 24h by hour (Insights)", "summary", day),
        ("summary 7d by day (Insights)", "summary", week),
        ("summary 30d by day (Insights)", "summary", month),
        ("summary 30d by day, one workflow", "summary", {**month, "workflow_id": busy_workflow}),
        ("summary 31d by hour (the longest hour series)", "summary", longest_hours),
        ("workflows 24h by hour, sort runs", "workflows", {**day, "limit": 200}),
        ("workflows 7d, sort failures", "workflows", {**week, "sort": "failures", "limit": 200}),
        ("workflows 30d, sort p95", "workflows", {**month, "sort": "p95_ms", "limit": 200}),
        ("workflows 30d, sort time saved asc", "workflows",
         {**month, "sort": "time_saved_minutes", "direction": "asc", "limit": 200}),
        ("failures 30d", "failures", {"since": month["since"], "until": month["until"], "limit": 10}),
        ("failures 30d, one workflow", "failures",
         {"since": month["since"], "until": month["until"], "workflow_id": busy_workflow}),
        ("dashboard summary 30d by day", "summary", dashboard),
        ("time-saved of one workflow", f"workflows/{busy_workflow}/time-saved", {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--executions", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed) to look into")
    args = parser.parse_args()
    base = os.environ.get("LINKFLOW_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit('LINKFLOW_TEST_POSTGRES_URL is not set: eval "$(bash deploy/local/infra.sh env)"')
    import psycopg

    admin_dsn = base.replace("postgresql+psycopg://", "postgresql://")
    name = f"lf_bench_insights_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.rsplit("/", 1)[0] + f"/{name}"
    os.environ["LINKFLOW_DATABASE_URL"] = url
    os.environ.setdefault("LINKFLOW_DATA_DIR", f"/tmp/{name}")
    os.environ["LINKFLOW_LOG_LEVEL"] = "WARNING"
    try:
        run(url, args)
    finally:
        from backend.db.session import get_engine

        get_engine().dispose()
        if args.keep:
            print(f"kept: {url} (DROP DATABASE \"{name}\" when done)")
        else:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args: argparse.Namespace) -> None:
    import psycopg
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.auth.tokens import issue_access_token
    from backend.db import migrate
    from backend.db.session import session_scope
    from backend.users.service import create_user
    from backend.workflows.models import Workflow

    migrate.upgrade(url)
    with session_scope() as session:
        teams = [create_user(session, email=f"bench-{n}@example.com", password="a long enough password")
                 for n in range(TEAMS)]
        user_id, team_ids = teams[0][0].id, [team.id for _, team in teams]
        workflows = [Workflow(team_id=team_ids[0], name=f"Workflow {n:03d}") for n in range(WORKFLOWS)]
        session.add_all(workflows)
        session.flush()
        workflow_ids = [w.id for w in workflows]
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        rows = load(conn, team_ids, workflow_ids, args.executions, now)
    loaded_s = time.perf_counter() - started
    print(f"{args.executions:,} executions counted into rollups in {loaded_s:.1f} s: "
          + ", ".join(f"{v:,} {k}" for k, v in rows.items()))

    token, _ = issue_access_token(user_id)
    headers = {"Authorization": f"Bearer {token}", "X-Team-Id": team_ids[0]}
    slowest = 0.0
    print(f"\n{'query':<48} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  (n={args.calls})")
    with TestClient(create_app()) as client:
        for label, path, params in queries(now, workflow_ids[0]):
            timings = []
            for call in range(args.calls + 1):
                begin = time.perf_counter()
                response = client.get(f"/api/v1/analytics/{path}", headers=headers, params=params)
                elapsed = (time.perf_counter() - begin) * 1000
                assert response.status_code == 200, (label, response.text[:500])
                if call:
                    timings.append(elapsed)
            if path == "summary" and "workflow_id" not in params:
                assert response.json()["executions"] > 0, label
            timings.sort()
            p95 = timings[min(len(timings) - 1, int(round(0.95 * len(timings))) - 1)]
            slowest = max(slowest, p95)
            print(f"{label:<48} {statistics.median(timings):8.1f} {p95:8.1f} {timings[-1]:8.1f}"
                  f"{'' if p95 < TARGET_MS else '  over the target'}")
    print(f"\nslowest p95: {slowest:.1f} ms (target < {TARGET_MS:.0f} ms): {'met' if slowest < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
