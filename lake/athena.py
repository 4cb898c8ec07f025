"""The SQL Athena runs for each file of lake/queries/: the file made standalone, so that one named query needs
nothing else to exist. Locally every file is a view over the table `events`; on AWS

- `events` is a CTE over the Glue table `event_log` keeping one row per `event_id`: EventBridge and Firehose
  both deliver at least once, and a backfill may overlap what the bus delivered, so a row can land twice
  (the local lake leaves duplicates out when it writes; S3 cannot, so the queries do);
- each view a file reads (`debt_states`, by its file name) becomes a CTE holding that file, in the order
  they depend on each other.

The file's own CTEs follow. A CTE may itself begin with WITH, which both Trino and DuckDB accept, so a file
is inlined as written.
"""

import re

from schema import Contract
from sql_files import dependency_order, queries

# The Glue table Firehose writes to; `events` is the CTE over it.
EVENT_LOG = "event_log"


def deduplicated_events(contract: Contract | None = None) -> str:
    """`events`: the first delivery of each event of `event_log`, with every column the local view has."""
    columns = [name for name, _ in (contract or Contract()).columns()] + ["event_date", "event_type"]
    listed = ", ".join(columns)
    return (f"SELECT {listed} FROM (\n"
            f"  SELECT {listed}, row_number() OVER (PARTITION BY event_id ORDER BY occurred_at) AS delivery\n"
            f"  FROM {EVENT_LOG}\n"
            f") AS delivered WHERE delivery = 1")


def after_with(sql: str) -> str | None:
    """What follows a query's leading WITH (its own CTEs, then its SELECT), or None when it has none."""
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    match = re.match(r"\s*WITH\s+", code, re.IGNORECASE)
    return code[match.end():] if match else None


def standalone(name: str, all_queries: dict[str, str] | None = None) -> str:
    """The SQL of query `name` that Athena runs over `event_log` alone."""
    all_queries = all_queries or queries()
    ctes = [f"events AS (\n{deduplicated_events()}\n)"]
    ctes += [f"{view} AS (\n{all_queries[view]}\n)" for view in dependency_order(name, all_queries)]
    rest = after_with(all_queries[name])
    if rest is not None:
        return "WITH " + ",\n".join(ctes) + ",\n" + rest
    return "WITH " + ",\n".join(ctes) + "\n" + all_queries[name]
