"""The lake's delivery on moto (in process): the bus rule, with the stack's pattern and input transformer,
takes every event the publisher puts on the bus and nothing else; the Firehose stream, created with the
stack's prefixes and partitioning, writes what it receives to the lake's bucket; the JQ query Firehose
partitions with, run by real JQ, puts each event under the prefix the local lake puts it under; and the
backfill sends an export through the same stream, sealed, in bounded batches, sending again what is refused.

What moto cannot show: its EventBridge delivers to no Firehose target (a queue stands in, with the same
transformer; moto renders the transformer's output as JSON and drops the template's newline, which AWS keeps),
and its Firehose neither evaluates dynamic partitioning nor converts to Parquet (it writes the records as
received, under the prefix as written). Those parts are checked here with JQ and DuckDB instead.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import jq
import pytest
from moto import mock_aws

LAKE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(LAKE))
sys.path.insert(0, str(LAKE.parent / "infrastructure"))
import backfill  # noqa: E402
import delivery  # noqa: E402
import lake  # noqa: E402
from components.event_lake import glue_columns, partition_keys, projection  # noqa: E402
from schema import SEALED, Contract, LakeType  # noqa: E402

REGION = "us-east-1"
BUCKET = "debts-test-lake"
STREAM = "debts-test-lake"
BUS = "debts-test-events"
CIPHER = {"enc": "bm9uY2UtY2lwaGVydGV4dC10YWc", "kid": "alice", "v": 1}


def sample(lake_type: LakeType):
    """A value of the contract's type for a column (a sealed struct for a personal field)."""
    if lake_type == SEALED:
        return CIPHER
    if lake_type.fields is not None:
        return {name: sample(t) for name, t in lake_type.fields}
    if lake_type.item is not None:
        return [sample(lake_type.item)]
    return {"string": "x", "bigint": 1, "boolean": True, "date": "2026-12-04", "timestamp": "2026-12-04T10:00:00Z",
            "decimal(38,10)": "12.34"}[lake_type.scalar]


def every_event_type():
    """One envelope of each event type of the contract, over two days, each with every field of its type."""
    contract = Contract()
    start = datetime(2026, 12, 4, 23, 0, tzinfo=timezone.utc)
    events = []
    for n, branch in enumerate(contract.document["oneOf"]):
        event_type = branch["properties"]["event_type"]["const"]
        data_schema = contract.resolve(branch["properties"]["data"])
        data = {name: sample(contract.type_of(s)) for name, s in data_schema.get("properties", {}).items()}
        at = start + timedelta(minutes=7 * n, microseconds=123456)
        events.append({"event_id": f"00000000-0000-4000-8000-{n:012d}", "schema_version": 2,
                       "aggregate_type": "user", "aggregate_id": "alice", "version": n + 1,
                       "occurred_at": at.isoformat().replace("+00:00", "Z"), "actor": "alice",
                       "correlation_id": "00000000-0000-4000-8000-000000000000", "event_type": event_type,
                       "data": data})
    return events


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", REGION)
        s3.create_bucket(Bucket=BUCKET)
        glue = boto3.client("glue", REGION)
        glue.create_database(DatabaseInput={"Name": "debts_test_lake"})
        glue.create_table(DatabaseName="debts_test_lake", TableInput={
            "Name": "event_log", "TableType": "EXTERNAL_TABLE", "Parameters": projection(BUCKET),
            "PartitionKeys": [{"Name": k["name"], "Type": k["type"]} for k in partition_keys()],
            "StorageDescriptor": {"Location": f"s3://{BUCKET}/{delivery.EVENTS_PREFIX}",
                                  "Columns": [{"Name": c["name"], "Type": c["type"]} for c in glue_columns()]}})
        firehose = boto3.client("firehose", REGION)
        role = "arn:aws:iam::123456789012:role/lake-firehose"
        firehose.create_delivery_stream(
            DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": role, "BucketARN": f"arn:aws:s3:::{BUCKET}", "Prefix": delivery.PREFIX,
                "ErrorOutputPrefix": delivery.ERROR_PREFIX, "CompressionFormat": "UNCOMPRESSED",
                "BufferingHints": {"SizeInMBs": 128, "IntervalInSeconds": 900},
                "DynamicPartitioningConfiguration": {"Enabled": True},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                    "Type": "MetadataExtraction", "Parameters": [
                        {"ParameterName": "MetadataExtractionQuery", "ParameterValue": delivery.PARTITION_QUERY},
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": delivery.JQ_ENGINE}]}]},
                "DataFormatConversionConfiguration": {
                    "Enabled": True,
                    "SchemaConfiguration": {"DatabaseName": "debts_test_lake", "TableName": "event_log",
                                            "RoleARN": role, "Region": REGION},
                    "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {"CaseInsensitive": False}}},
                    "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}}}})
        yield {"s3": s3, "firehose": firehose, "events": boto3.client("events", REGION),
               "sqs": boto3.client("sqs", REGION), "glue": glue}


def landed(s3) -> list[tuple[str, bytes]]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return [(key, s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) for key in keys]


def partitions_of(record: bytes) -> str:
    keys = jq.compile(delivery.PARTITION_QUERY).input_text(record.decode()).first()
    return delivery.partition_path(keys)


def test_the_rule_takes_every_event_and_the_stream_lands_it_under_the_local_lakes_partitions(aws, tmp_path):
    events = every_event_type()
    assert len({e["event_type"] for e in events}) == len(Contract().event_types()) == 15
    bus, sqs = aws["events"], aws["sqs"]
    bus.create_event_bus(Name=BUS)
    bus.put_rule(Name="lake-rule", EventBusName=BUS, EventPattern=json.dumps(delivery.RULE_PATTERN))
    probe = sqs.create_queue(QueueName="firehose-stand-in")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    transformer = {"InputPathsMap": delivery.INPUT_TRANSFORMER["input_paths"],
                   "InputTemplate": delivery.INPUT_TRANSFORMER["input_template"]}
    bus.put_targets(Rule="lake-rule", EventBusName=BUS,
                    Targets=[{"Id": "lake", "Arn": probe_arn, "InputTransformer": transformer}])
    # As publish-events puts them: source, the type as detail-type, the envelope as detail; and a replay
    # continuation on the same bus, which is no event and must stay out of the lake.
    entries = [{"Source": delivery.EVENT_SOURCE, "DetailType": e["event_type"], "Detail": json.dumps(e),
                "EventBusName": BUS} for e in events]
    entries.append({"Source": "debts.replay", "DetailType": "ReplayJobContinues", "Detail": "{}", "EventBusName": BUS})
    for start in range(0, len(entries), 10):
        assert bus.put_events(Entries=entries[start:start + 10])["FailedEntryCount"] == 0
    bodies = []
    while messages := sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10).get("Messages", []):
        for m in messages:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=probe, ReceiptHandle=m["ReceiptHandle"])
    delivered = [json.loads(b) for b in bodies]
    assert sorted(delivered, key=lambda e: e["event_id"]) == events

    records = [(json.dumps(e) + "\n").encode() for e in delivered]
    answer = aws["firehose"].put_record_batch(DeliveryStreamName=STREAM, Records=[{"Data": r} for r in records])
    assert answer["FailedPutCount"] == 0
    objects = landed(aws["s3"])
    assert objects and all(key.startswith(delivery.EVENTS_PREFIX) for key, _ in objects)
    assert b"".join(body for _, body in objects) == b"".join(records)

    # Firehose's partitioning, with real JQ, against the local lake built from the same events.
    (tmp_path / "in.ndjson").write_bytes(b"".join(records))
    lake.build(tmp_path / "lake", tmp_path / "in.ndjson", None)
    local = {p.relative_to(tmp_path / "lake").as_posix() + "/" for p in (tmp_path / "lake" / "events").glob("*/*")}
    on_aws = {partitions_of(r) for r in records}
    assert on_aws == local
    assert "events/event_date=2026-12-05/event_type=PlanAdopted/" in on_aws
    assert "events/event_date=2026-12-04/event_type=UserCreated/" in on_aws


def test_the_backfill_sends_a_sealed_export_in_bounded_batches(aws, tmp_path):
    events = every_event_type() * 80
    for n, e in enumerate(events):
        events[n] = {**e, "event_id": f"10000000-0000-4000-8000-{n:012d}"}
    # A schema version 1 event, written before sealing: its clear note must not reach the lake.
    legacy = {**events[0], "event_id": "20000000-0000-4000-8000-000000000000", "schema_version": 1,
              "event_type": "PaymentRecorded", "data": {"amount": "5.00", "paid_on": "2026-12-01",
                                                        "note": "clear words from 2025"}}
    lines = [json.dumps(e) + "\n" for e in events + [legacy]]
    done = backfill.backfill(aws["firehose"], STREAM, lines)
    assert done["sent"] == 1_201 and done["batches"] == 3 and done["sent_again"] == 0
    written = b"".join(body for _, body in landed(aws["s3"])).decode()
    assert "clear words" not in written
    rows = [json.loads(line) for line in written.splitlines()]
    assert len(rows) == 1_201
    [kept] = [r for r in rows if r["event_id"] == legacy["event_id"]]
    assert kept["data"] == {"amount": "5.00", "paid_on": "2026-12-01", "note": None}
    assert sum(1 for r in rows if r["data"].get("email") == CIPHER) == 80


def test_batches_stay_within_firehoses_limits_and_refused_records_are_sent_again():
    big = [b"x" * 900_000] * 10
    sizes = [sum(map(len, b)) for b in backfill.batches(iter(big))]
    assert max(sizes) <= backfill.MAX_BATCH_BYTES and sum(sizes) == 9_000_000
    assert [len(b) for b in backfill.batches(iter([b"y"] * 1_001))] == [500, 500, 1]

    class Throttling:
        def __init__(self):
            self.calls = []

        def put_record_batch(self, DeliveryStreamName, Records):
            self.calls.append([r["Data"] for r in Records])
            refused = len(self.calls) == 1
            return {"FailedPutCount": 2 if refused else 0, "RequestResponses": [
                {"ErrorCode": "ServiceUnavailableException"} if refused and i < 2 else {"RecordId": str(i)}
                for i in range(len(Records))]}

    client = Throttling()
    assert backfill.send(client, STREAM, [b"a", b"b", b"c"], pause=0) == 2
    assert client.calls == [[b"a", b"b", b"c"], [b"a", b"b"]]
