"""The local lake's writer, on real DuckDB and real files: the partition layout, an incremental run that
leaves out what the lake holds, compaction into one file per partition, the contract's types, and sealed
personal fields that stay sealed (a plain one, as events of schema version 1 had, never lands)."""

import json
import sys
import uuid
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import lake  # noqa: E402
from schema import Contract  # noqa: E402

SEALED = {"enc": "bm9uY2UtY2lwaGVydGV4dA", "kid": "alice", "v": 1}


def envelope(event_type, data, occurred_at, aggregate_id="alice", version=1, aggregate_type="user"):
    return {"event_id": str(uuid.uuid4()), "schema_version": 2, "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id, "version": version, "occurred_at": occurred_at, "actor": "alice",
            "correlation_id": str(uuid.uuid4()), "event_type": event_type, "data": data}


def write(path, events):
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def day_one():
    debt = str(uuid.uuid4())
    return [
        envelope("UserCreated", {"username": "alice", "email": SEALED, "full_name": SEALED},
                 "2026-12-01T09:00:00Z"),
        envelope("DebtCreated", {"owner": "alice", "debt_name": SEALED, "principal": "1000.00",
                                 "interest_rate": "19.9900", "start_date": "2026-01-15", "payment_frequency": "monthly",
                                 "current_balance": "800.00", "creditor": None}, "2026-12-01T09:05:00Z",
                 aggregate_id=debt, aggregate_type="debt"),
        envelope("PaymentRecorded", {"amount": "100.25", "paid_on": "2026-11-30", "note": "plain, version 1"},
                 "2026-12-01T23:59:59.999999Z", aggregate_id=debt, version=2, aggregate_type="debt"),
    ]


def test_the_layout_the_types_and_sealed_fields(tmp_path):
    events = day_one()
    done = lake.build(tmp_path / "lake", write(tmp_path / "a.ndjson", events), None)
    assert done["added"] == 3
    partitions = sorted(p.relative_to(tmp_path / "lake" / "events").as_posix()
                        for p in (tmp_path / "lake" / "events").glob("*/*"))
    assert partitions == ["event_date=2026-12-01/event_type=DebtCreated",
                          "event_date=2026-12-01/event_type=PaymentRecorded",
                          "event_date=2026-12-01/event_type=UserCreated"]
    db = lake.connect(tmp_path / "lake")
    # DuckDB quotes the field names that are keywords (month, order) when it describes a type.
    columns = {name: kind.replace('"', "") for name, kind, *_ in db.execute("DESCRIBE events").fetchall()}
    for name, lake_type in Contract().columns():
        assert columns[name] == lake_type.duckdb().replace('"', ""), name
    payment = db.execute("SELECT data.amount, data.paid_on, data.note, occurred_at FROM events "
                         "WHERE event_type = 'PaymentRecorded'").fetchone()
    assert str(payment[0]) == "100.2500000000" and str(payment[1]) == "2026-11-30"
    assert payment[2] == {"enc": None, "kid": None, "v": None}, "a plain personal field does not land"
    assert str(payment[3]) == "2026-12-01 23:59:59.999999"
    user = db.execute("SELECT data.email FROM events WHERE event_type = 'UserCreated'").fetchone()[0]
    assert user == SEALED
    # No clear text of the plain field is anywhere in the lake's files, compressed or not.
    every_value = db.execute("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM events").fetchall()
    assert not any("plain, version 1" in str(v) for row in every_value for v in row)


def test_an_incremental_run_adds_only_what_is_new_and_compacts(tmp_path, monkeypatch):
    first = day_one()
    lake.build(tmp_path / "lake", write(tmp_path / "a.ndjson", first), None)
    checkpoint = json.loads((tmp_path / "lake" / "checkpoint.json").read_text())
    assert checkpoint["latest_occurred_at"].startswith("2026-12-01T23:59:59.999999")
    # The next export starts OVERLAP before the checkpoint: its first event was already written.
    later = envelope("PaymentRecorded", {"amount": "50.00", "paid_on": "2026-12-01", "note": None},
                     "2026-12-01T23:59:59.999999Z", aggregate_id=first[1]["aggregate_id"], version=3,
                     aggregate_type="debt")
    done = lake.build(tmp_path / "lake", write(tmp_path / "b.ndjson", [first[2], later]), None)
    assert done["added"] == 1
    assert done["files_merged"] == 2
    files = list((tmp_path / "lake" / "events" / "event_date=2026-12-01" / "event_type=PaymentRecorded").iterdir())
    assert len(files) == 1 and files[0].suffix == ".parquet"
    db = lake.connect(tmp_path / "lake")
    assert db.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (4, 4)
    assert json.loads((tmp_path / "lake" / "checkpoint.json").read_text())["events"] == 4
    # The incremental export is asked from OVERLAP before the checkpoint.
    asked = []
    monkeypatch.setattr(lake, "export", lambda command, since, out: (asked.append(since), out.write_text("")))
    lake.build(tmp_path / "lake", None, "export-events")
    assert asked == ["2026-12-01T23:49:59.999999Z"]


def test_every_query_runs_on_an_empty_lake_and_reads_only_the_common_sql(tmp_path):
    db = lake.connect(tmp_path / "empty")
    for query in sorted(lake.QUERIES.glob("*.sql")):
        assert db.execute(f"SELECT * FROM {query.stem}").fetchall() == [], query.stem
        text = "\n".join(line for line in query.read_text().lower().splitlines() if not line.startswith("--"))
        # DuckDB-only spellings that Athena (Trino) lacks; the files keep to what both read.
        for dialect_only in ("::", "strftime", "list_", "struct_", "date_diff", "ilike", "qualify"):
            assert dialect_only not in text, (query.stem, dialect_only)
    assert isinstance(duckdb.__version__, str)
