"""How events reach the lake on AWS, as data the Pulumi program deploys and the tests run: the bus rule
that sends every event to Firehose, the input transformer that makes each one a line of NDJSON (the
envelope, as `export-events` writes it), the JQ query Firehose's dynamic partitioning evaluates on it, and
the S3 prefixes that turn its keys into the local lake's layout (`event_date=YYYY-MM-DD/event_type=T/`).
"""

from schema import PARTITIONS

# The bus events' `source` (infrastructure's EVENT_SOURCE, `events::bus::SOURCE`): every event type.
EVENT_SOURCE = "debts.events"
RULE_PATTERN = {"source": [EVENT_SOURCE]}

# The bus event's `detail` is the envelope; the target receives it followed by a newline, so that what
# Firehose writes where it cannot convert (the error prefix) and what a backfill sends are NDJSON too.
INPUT_TRANSFORMER = {"input_paths": {"envelope": "$.detail"}, "input_template": "<envelope>\n"}

# Firehose's dynamic partitioning reads each record's keys with this JQ query (JQ 1.6): the UTC day of
# `occurred_at` (RFC 3339, always UTC with `Z`, so its first ten characters are the day) and the type.
JQ_ENGINE = "JQ-1.6"
PARTITION_EXPRESSIONS = {"event_date": ".occurred_at[0:10]", "event_type": ".event_type"}
PARTITION_QUERY = "{" + ", ".join(f"{key}: {PARTITION_EXPRESSIONS[key]}" for key in PARTITIONS) + "}"

# Where the Parquet files go: the local lake's layout under `events/`.
EVENTS_PREFIX = "events/"
PREFIX = EVENTS_PREFIX + "".join(f"{key}=!{{partitionKeyFromQuery:{key}}}/" for key in PARTITIONS)
# Records Firehose could not convert or partition, as it received them, by the kind of failure and day.
ERROR_PREFIX = "errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"
ATHENA_RESULTS_PREFIX = "athena-results/"


def partition_path(keys: dict[str, str]) -> str:
    """The prefix Firehose writes a record under, given the keys PARTITION_QUERY extracted from it."""
    path = PREFIX
    for key in PARTITIONS:
        path = path.replace(f"!{{partitionKeyFromQuery:{key}}}", keys[key])
    return path
