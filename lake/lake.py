"""The local lake: the event log as Parquet files under LAKE/events/, in the partition layout Firehose writes
on S3 (`event_date=YYYY-MM-DD/event_type=T/`), and SQL over them with DuckDB, each file of lake/queries/ a
view of the same name.

    lake.py build --lake DIR (--ndjson FILE | --export "COMMAND")   # add the events not yet in the lake
    lake.py sql --lake DIR [--query NAME] [--json]                  # one query's rows, or a prompt

`build` is incremental: the checkpoint (LAKE/checkpoint.json) keeps the latest `occurred_at` written, and
the next run exports from OVERLAP before it (an event decided just before the last run may commit after
it), leaving out the events whose `event_id` the lake already holds. Each run then compacts every partition
it wrote to into one file.
"""

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema import PARTITIONS, Contract  # noqa: E402
from sql_files import QUERIES, in_dependency_order, queries  # noqa: E402

# How far before the checkpoint each incremental export starts: far beyond the time between a command's
# decision (its events' `occurred_at`) and its append, which every request's time bound keeps to seconds.
OVERLAP = timedelta(minutes=10)
ENVELOPE_TEXT = ["event_id", "aggregate_type", "aggregate_id", "actor", "correlation_id", "client_correlation_id",
                 "causation_id", "event_type"]


def events_glob(lake: Path) -> str:
    return str(lake / "events" / "**" / "*.parquet")


def has_files(lake: Path) -> bool:
    return any((lake / "events").glob("**/*.parquet"))


def typed_select(contract: Contract) -> str:
    """The SELECT that turns NDJSON envelopes (read as text, `data` as JSON) into lake rows."""
    expressions = []
    for name, lake_type in contract.columns():
        if name == "data":
            structure = json.dumps(lake_type.structure()).replace("'", "''")
            expressions.append(f"json_transform(data, '{structure}') AS data")
        else:
            expressions.append(f"CAST({name} AS {lake_type.duckdb()}) AS {name}")
    expressions.append("strftime(CAST(occurred_at AS TIMESTAMP), '%Y-%m-%d') AS event_date")
    expressions.append("event_type")
    return ",\n  ".join(expressions)


def read_ndjson(path: Path) -> str:
    columns = {name: "VARCHAR" for name in ENVELOPE_TEXT}
    columns.update({"schema_version": "BIGINT", "version": "BIGINT", "occurred_at": "VARCHAR", "data": "JSON"})
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"
    return f"read_json('{path}', format = 'newline_delimited', columns = {spec})"


def load_checkpoint(lake: Path) -> dict:
    path = lake / "checkpoint.json"
    return json.loads(path.read_text()) if path.exists() else {}


def export(command: str, since: str | None, out: Path):
    argv = shlex.split(command) + ["-o", str(out)] + (["--since", since] if since else [])
    subprocess.run(argv, check=True)


def build(lake: Path, ndjson: Path | None, export_command: str | None) -> dict:
    """Adds the events of `ndjson` (or of the export from the checkpoint) that the lake lacks; answers
    what it did."""
    started = time.monotonic()
    lake.mkdir(parents=True, exist_ok=True)
    checkpoint = load_checkpoint(lake)
    since = None
    if checkpoint.get("latest_occurred_at"):
        latest = datetime.fromisoformat(checkpoint["latest_occurred_at"])
        since = (latest - OVERLAP).astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    with tempfile.TemporaryDirectory() as scratch:
        if ndjson is None:
            ndjson = Path(scratch) / "export.ndjson"
            export(export_command, since, ndjson)
        db = duckdb.connect()
        db.execute(f"CREATE TEMP TABLE incoming AS SELECT\n  {typed_select(Contract())}\nFROM {read_ndjson(ndjson)}")
        if since and has_files(lake):
            # Only the partitions from the overlap's first day on can hold an event exported again.
            db.execute(f"""DELETE FROM incoming WHERE event_id IN (
                SELECT event_id FROM read_parquet('{events_glob(lake)}', hive_partitioning = true)
                WHERE event_date >= '{since[:10]}')""")
        added = db.execute("SELECT count(*) FROM incoming").fetchone()[0]
        touched = [Path(lake, "events", f"event_date={d}", f"event_type={t}") for d, t in db.execute(
            "SELECT DISTINCT event_date, event_type FROM incoming").fetchall()]
        if added:
            db.execute(f"""COPY incoming TO '{lake / "events"}' (FORMAT parquet, COMPRESSION zstd,
                PARTITION_BY ({", ".join(PARTITIONS)}), APPEND, FILENAME_PATTERN 'part-{{uuid}}')""")
        compacted = sum(compact(db, partition) for partition in touched)
        latest = db.execute("SELECT max(CAST(occurred_at AS TIMESTAMP)) FROM incoming").fetchone()[0]
    if latest is not None:
        latest = latest.replace(tzinfo=timezone.utc).isoformat()
        if latest > checkpoint.get("latest_occurred_at", ""):
            checkpoint["latest_occurred_at"] = latest
    checkpoint["events"] = checkpoint.get("events", 0) + added
    (lake / "checkpoint.json").write_text(json.dumps(checkpoint, indent=2) + "\n")
    return {"added": added, "partitions_written": len(touched), "files_merged": compacted,
            "events_in_lake": checkpoint["events"], "seconds": round(time.monotonic() - started, 3)}


def compact(db, partition: Path) -> int:
    """Merges a partition's files into one (written beside them, then the old ones removed); answers how
    many files it merged."""
    files = sorted(partition.glob("*.parquet"))
    if len(files) < 2:
        return 0
    merged = partition / f"compact-{uuid.uuid4()}.parquet.tmp"
    sources = ", ".join(f"'{f}'" for f in files)
    db.execute(f"COPY (SELECT * FROM read_parquet([{sources}])) TO '{merged}' (FORMAT parquet, COMPRESSION zstd)")
    for f in files:
        f.unlink()
    merged.rename(merged.with_suffix(""))
    return len(files)


def connect(lake: Path):
    """DuckDB over the lake: `events` (the files, partition columns from the paths) and every query as a
    view of its file's name."""
    db = duckdb.connect()
    if has_files(lake):
        db.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{events_glob(lake)}', hive_partitioning = true)")
    else:
        columns = ", ".join(f"CAST(NULL AS {t.duckdb()}) AS {n}" for n, t in Contract().columns())
        db.execute(f"CREATE VIEW events AS SELECT {columns}, CAST(NULL AS VARCHAR) AS event_date, "
                   "CAST(NULL AS VARCHAR) AS event_type WHERE false")
    # A query may read another's view (debt_states): each is created after the views it reads.
    every = queries()
    for name in in_dependency_order(every):
        db.execute(f"CREATE VIEW {name} AS {every[name]}")
    return db


def rows_of(db, sql: str) -> list[dict]:
    result = db.execute(sql)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def plain(value):
    """A value as JSON writes it: decimals and dates as text, so money stays exact."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def sql(lake: Path, query: str | None, as_json: bool):
    db = connect(lake)
    if query:
        if query not in queries():
            sys.exit(f"no query {query}: one of {', '.join(queries())}")
        if as_json:
            rows = rows_of(db, f"SELECT * FROM {query}")
            print(json.dumps([{k: plain(v) for k, v in row.items()} for row in rows]))
        else:
            db.sql(f"SELECT * FROM {query}").show(max_rows=1000)
        return
    print("DuckDB over the lake: the table `events`, and the views " +
          ", ".join(queries()) + ". End a statement with ;, quit with \\q.")
    statement = ""
    while True:
        try:
            line = input("lake> " if not statement else "  ... ")
        except EOFError:
            break
        if line.strip() == "\\q":
            break
        statement += line + "\n"
        if statement.rstrip().endswith(";"):
            try:
                db.sql(statement).show(max_rows=100)
            except duckdb.Error as error:
                print(error)
            statement = ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_args = commands.add_parser("build")
    build_args.add_argument("--lake", type=Path, required=True)
    source = build_args.add_mutually_exclusive_group(required=True)
    source.add_argument("--ndjson", type=Path)
    source.add_argument("--export")
    sql_args = commands.add_parser("sql")
    sql_args.add_argument("--lake", type=Path, required=True)
    sql_args.add_argument("--query")
    sql_args.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.command == "build":
        print(json.dumps(build(args.lake, args.ndjson, args.export)))
    else:
        sql(args.lake, args.query, args.json)


if __name__ == "__main__":
    main()
