"""The event lake on AWS, checked offline: the Glue table's columns against the event contract read
independently from docs/schemas/, partition projection over the local lake's layout, the Firehose stream's
conversion and partitioning, the rule that feeds it, every role evaluated by IAM's rules (tests/iam.py),
the Athena workgroup's limits and one named query per lake/queries file."""

import json
import sys
from pathlib import Path

import pulumi

from iam import Request, allowed
from test_stack import SETTINGS, STACK, declared
from components import event_lake
from components.stack import EVENT_SOURCE

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lake"))
import athena  # noqa: E402
import delivery  # noqa: E402

SCHEMAS = REPO / "docs" / "schemas"
BUCKET = "arn:aws:s3:::lake-files"
KEY = "arn:aws:mock:us-east-1:000000000000:Key/lake-key"
STREAM = "arn:aws:firehose:us-east-1:000000000000:deliverystream/debts-test-lake"
TABLE = "arn:aws:glue:us-east-1:000000000000:table/debts_test_lake/event_log"


def after_the_lake(check):
    lake = STACK.lake
    urns = [lake.table.urn, lake.stream.urn, lake.target.urn, lake.workgroup.urn, lake.firehose_policy.urn,
            lake.events_policy.urn, lake.dead_letters_policy.urn, lake.bucket_policy.urn, lake.lifecycle.urn,
            lake.analyst_policy.urn, lake.encryption.urn] + [q.urn for q in lake.named_queries.values()]
    return pulumi.Output.all(*urns).apply(lambda _: check())


def one(typ, name):
    return dict(declared(typ))[name]


def statements(typ, name):
    return json.loads(one(typ, name)["policy"])["Statement"]


def split_fields(struct: str) -> dict[str, str]:
    """A Hive `struct<a:t,b:struct<...>>` type's top-level fields and their types, read on its own (not
    with lake/schema.py)."""
    assert struct.startswith("struct<") and struct.endswith(">"), struct
    inner, fields, depth, start = struct[len("struct<"):-1], {}, 0, 0
    for i, c in enumerate(inner + ","):
        depth += c in "<(" and 1 or (-1 if c in ">)" else 0)
        if c == "," and depth == 0:
            name, _, kind = inner[start:i].partition(":")
            fields[name] = kind
            start = i + 1
    return fields


@pulumi.runtime.test
def test_the_tables_columns_are_the_event_contracts():
    def check():
        table = one("aws:glue/catalogTable:CatalogTable", "lake-event-log")
        assert table["name"] == athena.EVENT_LOG and table["database_name"] == "debts_test_lake"
        columns = {c["name"]: c["type"] for c in table["storage_descriptor"]["columns"]}
        envelope = json.loads((SCHEMAS / "envelope.schema.json").read_text())
        # Every envelope field is a column, but the partition column `event_type`; `data` is one struct.
        assert set(columns) == (set(envelope["properties"]) - {"event_type"}) | {"data"}
        assert columns["occurred_at"] == "timestamp" and columns["version"] == "bigint"
        assert [(k["name"], k["type"]) for k in table["partition_keys"]] == [("event_date", "date"),
                                                                              ("event_type", "string")]
        # `data` holds every field of every event type's schema file, typed as the contract says.
        data = split_fields(columns["data"])
        files = sorted(SCHEMAS.glob("*.data.schema.json"))
        assert len(files) == len(envelope["oneOf"])
        for path in files:
            schema = json.loads(path.read_text())
            for field, spec in schema.get("properties", {}).items():
                assert field in data, (path.name, field)
                if spec.get("pattern") == "^-?[0-9]+(\\.[0-9]+)?$":
                    assert data[field] == "decimal(38,10)", (path.name, field)
                if spec.get("format") == "date":
                    assert data[field] == "date", (path.name, field)
                if "Personal" in json.dumps(spec):
                    assert data[field] == "struct<enc:string,kid:string,v:bigint>", (path.name, field)
        assert set(data) == {f for p in files for f in json.loads(p.read_text()).get("properties", {})}
        # Athena reads it as Parquet, every partition projected from the local lake's layout.
        descriptor = table["storage_descriptor"]
        assert descriptor["ser_de_info"]["serialization_library"].endswith("ParquetHiveSerDe")
        assert descriptor["location"] == "s3://lake-files/events/"
        parameters = table["parameters"]
        assert parameters["projection.enabled"] == "true"
        assert parameters["projection.event_type.values"].split(",") == [
            b["properties"]["event_type"]["const"] for b in envelope["oneOf"]]
        assert parameters["projection.event_date.format"] == "yyyy-MM-dd"
        assert parameters["storage.location.template"] == \
            "s3://lake-files/events/event_date=${event_date}/event_type=${event_type}/"
    return after_the_lake(check)


@pulumi.runtime.test
def test_the_stream_writes_parquet_partitioned_as_the_local_lake_encrypted_with_the_lakes_key():
    def check():
        stream = one("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", "lake-stream")
        assert stream["destination"] == "extended_s3"
        assert stream["server_side_encryption"] == {"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK",
                                                    "key_arn": KEY}
        s3 = stream["extended_s3_configuration"]
        assert s3["bucket_arn"] == BUCKET and s3["kms_key_arn"] == KEY
        assert s3["prefix"] == ("events/event_date=!{partitionKeyFromQuery:event_date}/"
                                "event_type=!{partitionKeyFromQuery:event_type}/")
        assert s3["error_output_prefix"].startswith("errors/!{firehose:error-output-type}/")
        # Conversion and dynamic partitioning need a buffer of at least 64 MiB; 900 s is the longest wait.
        assert 64 <= s3["buffering_size"] <= 128 and 60 <= s3["buffering_interval"] <= 900
        assert s3["compression_format"] == "UNCOMPRESSED"
        assert s3["dynamic_partitioning_configuration"]["enabled"] is True
        [processor] = s3["processing_configuration"]["processors"]
        parameters = {p["parameter_name"]: p["parameter_value"] for p in processor["parameters"]}
        assert processor["type"] == "MetadataExtraction"
        assert parameters == {"MetadataExtractionQuery": "{event_date: .occurred_at[0:10], event_type: .event_type}",
                              "JsonParsingEngine": "JQ-1.6"}
        conversion = s3["data_format_conversion_configuration"]
        assert conversion["enabled"] is True
        assert "open_x_json_ser_de" in conversion["input_format_configuration"]["deserializer"]
        assert "parquet_ser_de" in conversion["output_format_configuration"]["serializer"]
        assert conversion["schema_configuration"]["database_name"] == "debts_test_lake"
        assert conversion["schema_configuration"]["table_name"] == athena.EVENT_LOG
        assert s3["cloudwatch_logging_options"]["enabled"] is True
    return after_the_lake(check)


@pulumi.runtime.test
def test_every_bus_event_goes_to_the_stream_as_a_line_and_what_fails_is_kept():
    def check():
        [(_, rule)] = [(n, r) for n, r in declared("aws:cloudwatch/eventRule:EventRule") if n == "lake-rule"]
        assert json.loads(rule["event_pattern"]) == {"source": [EVENT_SOURCE]} == delivery.RULE_PATTERN
        target = one("aws:cloudwatch/eventTarget:EventTarget", "lake-target")
        assert target["arn"] == STREAM
        assert target["input_transformer"] == {"input_paths": {"envelope": "$.detail"},
                                               "input_template": "<envelope>\n"}
        assert target["dead_letter_config"]["arn"].endswith("lake-dead-letters")
        assert target["retry_policy"]["maximum_event_age_in_seconds"] == 24 * 3600
        events = statements("aws:iam/rolePolicy:RolePolicy", "lake-events")
        assert allowed(events, Request("firehose:PutRecordBatch", STREAM))
        assert not allowed(events, Request("firehose:PutRecordBatch", STREAM + "-other"))
        assert not allowed(events, Request("firehose:DeleteDeliveryStream", STREAM))
        queue = statements("aws:sqs/queuePolicy:QueuePolicy", "lake-dead-letters")
        rule_arn = "arn:aws:mock:us-east-1:000000000000:EventRule/lake-rule"
        dlq = "arn:aws:mock:us-east-1:000000000000:Queue/lake-dead-letters"
        assert allowed(queue, Request("sqs:SendMessage", dlq, {"aws:SourceArn": rule_arn}))
        assert not allowed(queue, Request("sqs:SendMessage", dlq, {"aws:SourceArn": rule_arn + "-other"}))
        roles = {n: json.loads(r["assume_role_policy"]) for n, r in declared("aws:iam/role:Role")}
        for name, service in (("lake-events", "events.amazonaws.com"), ("lake-firehose", "firehose.amazonaws.com")):
            [trust] = roles[name]["Statement"]
            assert trust["Principal"] == {"Service": service}
            assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "000000000000"}}
    return after_the_lake(check)


@pulumi.runtime.test
def test_firehose_writes_the_lake_only_and_encrypts_only_through_s3():
    def check():
        firehose = statements("aws:iam/rolePolicy:RolePolicy", "lake-firehose")
        s3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
        assert allowed(firehose, Request("s3:PutObject", f"{BUCKET}/events/event_date=2026-12-05/x.parquet"))
        assert not allowed(firehose, Request("s3:PutObject", "arn:aws:s3:::web-files/index.html"))
        assert not allowed(firehose, Request("s3:DeleteObject", f"{BUCKET}/events/x.parquet"))
        assert allowed(firehose, Request("kms:GenerateDataKey", KEY, s3))
        assert not allowed(firehose, Request("kms:GenerateDataKey", KEY))
        data_keys = dict(declared("aws:kms/key:Key"))
        assert set(data_keys) == {"data-keys", "lake-key"}
        assert not allowed(firehose, Request("kms:Decrypt", "arn:aws:mock:us-east-1:000000000000:Key/data-keys", s3))
        assert allowed(firehose, Request("glue:GetTableVersions", TABLE))
        assert not allowed(firehose, Request("glue:UpdateTable", TABLE))
        bucket = statements("aws:s3/bucketPolicy:BucketPolicy", "lake-tls-only")
        assert [s["Effect"] for s in bucket] == ["Deny"]
        assert bucket[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        encryption = one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                         "lake-encryption")
        [rule] = encryption["rules"]
        assert rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "aws:kms",
                                                                   "kms_master_key_id": KEY}
        lifecycle = {r["id"]: r for r in one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                                             "lake-lifecycle")["rules"]}
        # Events are kept forever: no rule that expires anything under events/.
        assert "expiration" not in lifecycle["events-to-intelligent-tiering"]
        assert lifecycle["events-to-intelligent-tiering"]["transitions"][0]["storage_class"] == "INTELLIGENT_TIERING"
        assert lifecycle["athena-results-expire"]["filter"]["prefix"] == "athena-results/"
        assert lifecycle["errors-expire"]["expiration"]["days"] == 90
    return after_the_lake(check)


@pulumi.runtime.test
def test_athena_bounds_each_query_and_names_one_query_per_sql_file():
    def check():
        workgroup = one("aws:athena/workgroup:Workgroup", "lake-workgroup")
        config = workgroup["configuration"]
        assert config["enforce_workgroup_configuration"] is True
        assert config["bytes_scanned_cutoff_per_query"] == SETTINGS.lake_query_limit_bytes == 10 * 1024 ** 3
        results = config["result_configuration"]
        assert results["output_location"] == "s3://lake-files/athena-results/"
        assert results["encryption_configuration"] == {"encryption_option": "SSE_KMS", "kms_key_arn": KEY}
        named = {q["name"]: q for _, q in declared("aws:athena/namedQuery:NamedQuery")}
        files = sorted(p.stem for p in (REPO / "lake" / "queries").glob("*.sql"))
        assert sorted(named) == files and len(files) >= 7
        for name, query in named.items():
            assert query["query"] == athena.standalone(name)
            assert query["database"] == "debts_test_lake" and query["workgroup"] == "debts-test-lake"
            assert f"FROM {athena.EVENT_LOG}" in query["query"]
        analyst = json.loads(one("aws:iam/policy:Policy", "lake-analyst")["policy"])["Statement"]
        workgroup_arn = "arn:aws:mock:us-east-1:000000000000:Workgroup/debts-test-lake"
        assert allowed(analyst, Request("athena:StartQueryExecution", workgroup_arn))
        assert not allowed(analyst, Request("athena:StartQueryExecution", workgroup_arn + "-other"))
        assert allowed(analyst, Request("s3:GetObject", f"{BUCKET}/events/event_date=2026-12-05/x.parquet"))
        assert not allowed(analyst, Request("s3:PutObject", f"{BUCKET}/events/event_date=2026-12-05/x.parquet"))
        assert allowed(analyst, Request("s3:PutObject", f"{BUCKET}/athena-results/q.csv"))
        assert allowed(analyst, Request("glue:GetTable", TABLE))
        assert not allowed(analyst, Request("dynamodb:Scan", "arn:aws:dynamodb:us-east-1:000000000000:table/debts"))
    return after_the_lake(check)
