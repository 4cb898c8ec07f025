"""The SQL Athena's named queries run (lake/athena.py), on DuckDB over a real local lake: each query made
standalone over `event_log` answers what its local view answers, even when every event landed twice (as
EventBridge and Firehose may deliver it); and the users-behind-their-plan query against a plan whose
promise is worked out by hand."""

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import athena  # noqa: E402
import lake  # noqa: E402
from bench import generated  # noqa: E402
from test_lake import envelope, write  # noqa: E402


def lake_of(tmp_path, events):
    lake.build(tmp_path / "lake", write(tmp_path / "events.ndjson", events), None)
    return lake.connect(tmp_path / "lake")


def test_each_standalone_query_answers_as_its_view_over_events_delivered_twice(tmp_path):
    db = lake_of(tmp_path, list(generated(3_000, 40, seed=11)) + plans_kept_and_not())
    db.execute(f"CREATE VIEW {athena.EVENT_LOG} AS SELECT * FROM events UNION ALL SELECT * FROM events")
    assert db.execute(f"SELECT count(*) FROM {athena.EVENT_LOG}").fetchone()[0] == 2 * (3_000 + len(plans_kept_and_not()))
    every = athena.queries()
    assert set(every) == {q.stem for q in lake.QUERIES.glob("*.sql")}
    for name in every:
        sql = athena.standalone(name)
        assert "debt_states AS (" in sql or name not in ("balance_by_payment_frequency", "users_behind_plan")
        expected = db.execute(f"SELECT * FROM {name}").fetchall()
        assert expected, name
        assert sorted(map(repr, db.execute(sql).fetchall())) == sorted(map(repr, expected)), name


def test_a_cycle_between_queries_is_refused():
    cyclic = {"a": "SELECT * FROM b", "b": "SELECT * FROM a JOIN events ON true"}
    try:
        athena.standalone("a", cyclic)
    except ValueError as error:
        assert "a -> b -> a" in str(error)
    else:
        raise AssertionError("a cycle was inlined")


def month(offset: int) -> str:
    today = date.today()
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def debt(owner, debt_id, balance):
    return envelope("DebtCreated", {"owner": owner, "debt_name": None, "principal": balance,
                                    "interest_rate": "10.0000", "start_date": "2026-01-01",
                                    "payment_frequency": "monthly", "current_balance": balance,
                                    "creditor": None},
                    "2026-06-01T10:00:00Z", aggregate_id=debt_id, aggregate_type="debt")


def plan(user, start, starting_total, totals, version):
    return envelope("PlanAdopted", {"strategy": "avalanche", "monthly_budget": "100.00", "order": [],
                                    "budget_changes": [], "extra": [], "start": start,
                                    "starting_total": starting_total, "planned_totals": totals,
                                    "total_interest": "0.00"},
                    "2026-06-01T11:00:00Z", aggregate_id=user, version=version)


def plans_kept_and_not():
    return [
        # bob's plan started last month: this month is its month 2, which promised 800.
        debt("bob", "debt-b", "850.00"), plan("bob", month(-1), "1000.00", ["900.00", "800.00", "0.00"], 2),
        # carol owes 700, her plan promises 800 this month: ahead.
        debt("carol", "debt-c", "700.00"), plan("carol", month(-1), "1000.00", ["900.00", "800.00", "0.00"], 2),
        # dave's first plan (behind) was superseded by one starting next month: this month is its
        # adoption month, which promises the starting total, 600.
        debt("dave", "debt-d", "650.00"), plan("dave", month(-3), "700.00", ["0.00"], 2),
        plan("dave", month(1), "600.00", ["300.00", "0.00"], 3),
        # erin's plan ended two months ago, promising zero since; her debt of 100 was paid off in July.
        debt("erin", "debt-e", "0.01"), plan("erin", month(-4), "100.00", ["50.00", "0.00"], 2),
        debt("erin", "debt-f", "100.00"),
        envelope("PaymentRecorded", {"amount": "100.00", "paid_on": "2026-07-10", "note": None},
                 "2026-07-10T09:00:00Z", aggregate_id="debt-f", version=2, aggregate_type="debt"),
    ]


def test_users_behind_their_adopted_plan(tmp_path):
    db = lake_of(tmp_path, plans_kept_and_not())
    rows = db.execute("SELECT * FROM users_behind_plan").fetchall()
    assert rows == [("bob", month(-1), Decimal("800"), Decimal("850"), Decimal("50")),
                    ("dave", month(1), Decimal("600"), Decimal("650"), Decimal("50")),
                    ("erin", month(-4), Decimal("0"), Decimal("0.01"), Decimal("0.01"))]
