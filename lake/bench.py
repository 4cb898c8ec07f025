"""`make bench-lake`: EVENTS generated events (default 1,000,000; users with debts, payments, charges and
statements over DAYS days, default 90: about 11,000 events a day, some 2,200 per day and type) written to the lake as Parquet, against the NDJSON export of the same events:
events/s of the write, bytes on disk (a ratio), and the monthly-payments query (lake/queries/money_per_month)
over the Parquet files against the same query over the NDJSON file, read whole by the same engine (a ratio).
"""

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

import lake
from schema import Contract

SEALED = {"enc": "A" * 40, "kid": "u", "v": 1}
FREQUENCIES = ["weekly", "biweekly", "monthly", "quarterly", "annually"]


def generated(count: int, days: int, seed: int = 7):
    """Envelopes in commit order: each user registers and opens three debts, then each event is a payment
    (60 %), a charge (25 %) or a statement (15 %) on a random debt, the clock moving to cover `days` days."""
    rng = random.Random(seed)
    clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
    step = timedelta(days=days) / count
    debts, versions, written = [], {}, 0

    def envelope(event_type, aggregate_type, aggregate_id, actor, data):
        nonlocal clock, written
        clock += step
        written += 1
        versions[aggregate_id] = versions.get(aggregate_id, 0) + 1
        return {"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "schema_version": 2,
                "aggregate_type": aggregate_type, "aggregate_id": aggregate_id, "version": versions[aggregate_id],
                "occurred_at": clock.isoformat().replace("+00:00", "Z"), "actor": actor,
                "correlation_id": str(uuid.UUID(int=rng.getrandbits(128))), "event_type": event_type, "data": data}

    while written < count:
        if not debts or rng.random() < 0.02:
            user = f"user{written}"
            yield envelope("UserCreated", "user", user, user,
                           {"username": user, "email": SEALED, "full_name": SEALED})
            for _ in range(3):
                debt = str(uuid.UUID(int=rng.getrandbits(128)))
                debts.append((debt, user))
                yield envelope("DebtCreated", "debt", debt, user, {
                    "owner": user, "debt_name": SEALED, "principal": f"{rng.randint(500, 50000)}.00",
                    "interest_rate": f"{rng.randint(0, 299999) / 10000:.4f}",
                    "start_date": clock.date().isoformat(), "payment_frequency": rng.choice(FREQUENCIES),
                    "current_balance": f"{rng.randint(500, 50000)}.00", "creditor": None})
            continue
        debt, user = rng.choice(debts)
        day = clock.date().isoformat()
        roll = rng.random()
        amount = f"{rng.randint(1, 50000) / 100:.2f}"
        if roll < 0.60:
            yield envelope("PaymentRecorded", "debt", debt, user, {"amount": amount, "paid_on": day, "note": None})
        elif roll < 0.85:
            yield envelope("ChargeAdded", "debt", debt, user, {
                "amount": amount, "charged_on": day, "kind": rng.choice(["interest", "fee", "purchase"]),
                "note": None})
        else:
            yield envelope("StatementRecorded", "debt", debt, user, {
                "closing_date": day, "statement_balance": "1000.00", "minimum_due": "25.00", "due_date": day,
                "interest_charged": amount, "fees_charged": None, "expected_balance": "990.00",
                "difference": "10.00", "model_interest": amount,
                "booked": [{"kind": "interest", "amount": amount}]})


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        ndjson = scratch / "events.ndjson"
        with ndjson.open("w") as out:
            for event in generated(args.events, args.days):
                out.write(json.dumps(event, separators=(",", ":")) + "\n")
        ndjson_bytes = ndjson.stat().st_size
        built, write_seconds = timed(lambda: lake.build(scratch / "lake", ndjson, None))
        assert built["added"] == args.events, built
        parquet_bytes = sum(f.stat().st_size for f in (scratch / "lake" / "events").glob("**/*.parquet"))
        files = len(list((scratch / "lake" / "events").glob("**/*.parquet")))

        query = (lake.QUERIES / "money_per_month.sql").read_text()
        over_lake = lake.connect(scratch / "lake")
        lake_rows, lake_seconds = timed(lambda: over_lake.execute(query).fetchall())
        over_ndjson = duckdb.connect()
        over_ndjson.execute(f"CREATE VIEW events AS SELECT {lake.typed_select(Contract())} "
                            f"FROM {lake.read_ndjson(ndjson)}")
        ndjson_rows, ndjson_seconds = timed(lambda: over_ndjson.execute(query).fetchall())
        assert lake_rows == ndjson_rows, "the same answer from both"

    print(f"lake bench: {args.events:,} events over {args.days} days, {len(lake_rows)} months")
    print(f"  write:  {write_seconds:.2f} s, {args.events / write_seconds:,.0f} events/s into {files} Parquet files")
    print(f"  bytes:  Parquet {parquet_bytes:,}, NDJSON {ndjson_bytes:,}: {ndjson_bytes / parquet_bytes:.1f}x smaller")
    print(f"  query money_per_month: Parquet {lake_seconds:.3f} s, NDJSON read whole {ndjson_seconds:.3f} s: "
          f"{ndjson_seconds / lake_seconds:.1f}x faster")


if __name__ == "__main__":
    main()
