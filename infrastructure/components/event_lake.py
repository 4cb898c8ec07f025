"""The event lake on AWS: every event on the bus, as Parquet on S3 in the local lake's layout, queried with
Athena. An EventBridge rule sends each bus event to a Firehose stream (the envelope as a line of NDJSON,
lake/delivery.py); Firehose converts it to Parquet against the Glue table `event_log`, whose columns are
lake/schema.py's (derived from docs/schemas), partitions it by `event_date` and `event_type`, and writes it
encrypted with the lake's KMS key. Athena reads the table through partition projection (no crawler, no
partitions to add) in a workgroup that enforces its result location, encryption and a bytes-scanned limit;
each file of lake/queries/ is one of its named queries (lake/athena.py). `analyst_policy` is what a person
or role needs to run them.

Firehose's Parquet conversion against a Glue table rather than its Apache Iceberg destination: the files are
plain Parquet under Hive-style partitions, which DuckDB reads locally as they are (the same layout, the
same SQL); erasure needs no row deletes (personal fields are sealed, and shredding the key erases them), so
Iceberg's deletes and snapshots would only add compaction and snapshot expiry to operate.
"""

import json
import re
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lake"))
import athena  # noqa: E402
import delivery  # noqa: E402
from schema import PARTITIONS, Contract  # noqa: E402

# Firehose's smallest buffer with record format conversion or dynamic partitioning is 64 MiB; the longest
# wait 900 s. Each partition (day and type) buffers on its own, so a quiet type is written every 15 minutes
# and a busy one every 128 MiB: fewer, larger files, which Athena reads faster and S3 charges fewer requests for.
# https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html
BUFFER_MIB = 128
BUFFER_SECONDS = 900
# How long EventBridge keeps retrying a delivery to Firehose before the event goes to the dead-letter queue.
DELIVERY_MAX_AGE_SECONDS = 24 * 3600
# Partition projection's first day: no event is older than the project.
FIRST_DAY = "2026-01-01"
# Lake files move to S3 Intelligent-Tiering after this many days: Athena reads them there at the same
# price per request, and months nobody queries cost less. Events are kept forever, so they never expire.
TIERING_AFTER_DAYS = 30
ERRORS_KEPT_DAYS = 90
RESULTS_KEPT_DAYS = 7
# One query scans at most this much (Athena cancels it past it): $0.05 at $5 per TB scanned.
DEFAULT_QUERY_LIMIT_BYTES = 10 * 1024 ** 3

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def glue_columns(contract: Contract | None = None) -> list[dict]:
    """The table's columns in Hive's spelling, from the contract."""
    return [{"name": name, "type": lake_type.hive()} for name, lake_type in (contract or Contract()).columns()]


def partition_keys() -> list[dict]:
    types = {"event_date": "date", "event_type": "string"}
    return [{"name": name, "type": types[name]} for name in PARTITIONS]


def projection(bucket: str, contract: Contract | None = None) -> dict:
    """Athena's partition projection: every day from FIRST_DAY to now, every event type of the contract,
    and where each partition is (the prefix Firehose writes), so no partition is ever registered.
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html"""
    location = f"s3://{bucket}/" + delivery.partition_path({key: f"${{{key}}}" for key in PARTITIONS})
    return {
        "projection.enabled": "true",
        "projection.event_date.type": "date",
        "projection.event_date.format": "yyyy-MM-dd",
        "projection.event_date.range": f"{FIRST_DAY},NOW",
        "projection.event_date.interval": "1",
        "projection.event_date.interval.unit": "DAYS",
        "projection.event_type.type": "enum",
        "projection.event_type.values": ",".join((contract or Contract()).event_types()),
        "storage.location.template": location,
    }


def glue_name(prefix: str) -> str:
    """A Glue database name Athena reads without quoting: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9_]", "_", prefix.lower()) + "_lake"


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service: str, account: str) -> str:
    """A role only `service` may assume, for this account's resources (the confused-deputy guard)."""
    return policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"aws:SourceAccount": account}}})


class EventLake(pulumi.ComponentResource):
    def __init__(self, name: str, *, prefix: str, bus: aws.cloudwatch.EventBus, log_retention_days: int,
                 query_limit_bytes: int = DEFAULT_QUERY_LIMIT_BYTES, opts: pulumi.ResourceOptions | None = None):
        super().__init__("debts:lake:EventLake", name, None, opts)
        self.prefix = prefix
        self._child = pulumi.ResourceOptions(parent=self)
        self.account = aws.get_caller_identity_output().account_id
        self.region = aws.get_region_output().region
        self.key = aws.kms.Key(f"{name}-key", description=f"{prefix}: encrypts the event lake and Athena's results",
                               enable_key_rotation=True, deletion_window_in_days=30, opts=self._child)
        self._bucket(name)
        self._catalog(name)
        self._stream(name, log_retention_days)
        self._rule(name, bus)
        self._athena(name, query_limit_bytes)
        self.analyst_policy = aws.iam.Policy(
            f"{name}-analyst", name=f"{prefix}-lake-analyst", opts=self._child,
            description="Run the lake's named queries in its Athena workgroup (attach to an analyst's role)",
            policy=pulumi.Output.all(self.workgroup.arn, self.bucket.arn, self.key.arn, self.catalog_arns).apply(
                lambda args: analyst_statements(*args)))
        self.register_outputs({"bucket": self.bucket.bucket, "stream": self.stream.name,
                               "database": self.database.name, "workgroup": self.workgroup.name})

    def _bucket(self, name):
        bucket_prefix = re.sub(r"[^a-z0-9.-]", "-", self.prefix.lower())[:31] + "-lake-"
        # Not force_destroy: the lake is a copy of the events, but rebuilding it is a backfill of them all.
        self.bucket = aws.s3.Bucket(f"{name}-files", bucket_prefix=bucket_prefix, opts=self._child)
        aws.s3.BucketPublicAccessBlock(f"{name}-private", bucket=self.bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=self._child)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=self.bucket.id, opts=self._child,
                                       rule={"object_ownership": "BucketOwnerEnforced"})
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption", bucket=self.bucket.id, opts=self._child,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                 "kms_master_key_id": self.key.arn},
                    # One data key per bucket and hour rather than per object: KMS requests cost.
                    "bucket_key_enabled": True}])
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, opts=self._child, rules=[
                {"id": "events-to-intelligent-tiering", "status": "Enabled",
                 "filter": {"prefix": delivery.EVENTS_PREFIX},
                 "transitions": [{"days": TIERING_AFTER_DAYS, "storage_class": "INTELLIGENT_TIERING"}]},
                {"id": "errors-expire", "status": "Enabled", "filter": {"prefix": "errors/"},
                 "expiration": {"days": ERRORS_KEPT_DAYS}},
                {"id": "athena-results-expire", "status": "Enabled",
                 "filter": {"prefix": delivery.ATHENA_RESULTS_PREFIX}, "expiration": {"days": RESULTS_KEPT_DAYS}},
                {"id": "abort-incomplete-uploads", "status": "Enabled", "filter": {},
                 "abort_incomplete_multipart_upload": {"days_after_initiation": 1}},
            ])
        self.bucket_policy = aws.s3.BucketPolicy(
            f"{name}-tls-only", bucket=self.bucket.id, opts=self._child,
            policy=self.bucket.arn.apply(lambda arn: policy(
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}})))

    def _catalog(self, name):
        self.database = aws.glue.CatalogDatabase(
            f"{name}-database", name=glue_name(self.prefix), opts=self._child,
            description="The event log as Parquet (docs/analytics.md)")
        self.table = aws.glue.CatalogTable(
            f"{name}-event-log", name=athena.EVENT_LOG, database_name=self.database.name,
            table_type="EXTERNAL_TABLE", opts=self._child,
            description="Every event, as Firehose writes it: lake/schema.py's columns, from docs/schemas",
            parameters=self.bucket.bucket.apply(lambda bucket: {
                "classification": "parquet", "EXTERNAL": "TRUE", **projection(bucket)}),
            partition_keys=partition_keys(),
            storage_descriptor={
                "location": self.bucket.bucket.apply(lambda b: f"s3://{b}/{delivery.EVENTS_PREFIX}"),
                "input_format": PARQUET_INPUT, "output_format": PARQUET_OUTPUT,
                "ser_de_info": {"serialization_library": PARQUET_SERDE},
                "columns": glue_columns(),
            })
        self.catalog_arns = pulumi.Output.all(self.database.name, self.table.name, self.account,
                                              self.region).apply(lambda args: glue_arns(*args))

    def _stream(self, name, log_retention_days):
        stream_name = f"{self.prefix}-lake"
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-delivery-logs", name=f"/aws/kinesisfirehose/{stream_name}",
            retention_in_days=log_retention_days, opts=self._child)
        self.log_stream = aws.cloudwatch.LogStream(f"{name}-delivery-log", name="DestinationDelivery",
                                                   log_group_name=self.log_group.name, opts=self._child)
        self.firehose_role = aws.iam.Role(f"{name}-firehose", opts=self._child,
                                          assume_role_policy=self.account.apply(
                                              lambda account: trust("firehose.amazonaws.com", account)))
        self.firehose_policy = aws.iam.RolePolicy(
            f"{name}-firehose", role=self.firehose_role.id, opts=self._child,
            policy=pulumi.Output.all(self.bucket.arn, self.key.arn, self.catalog_arns, self.log_group.arn,
                                     self.region).apply(lambda args: firehose_statements(*args)))
        self.stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-stream", name=stream_name, destination="extended_s3",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.firehose_policy]),
            server_side_encryption={"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK", "key_arn": self.key.arn},
            extended_s3_configuration={
                "role_arn": self.firehose_role.arn, "bucket_arn": self.bucket.arn,
                "prefix": delivery.PREFIX, "error_output_prefix": delivery.ERROR_PREFIX,
                "buffering_size": BUFFER_MIB, "buffering_interval": BUFFER_SECONDS,
                "kms_key_arn": self.key.arn,
                # Parquet compresses its own pages; the object itself must stay UNCOMPRESSED.
                "compression_format": "UNCOMPRESSED",
                "cloudwatch_logging_options": {"enabled": True, "log_group_name": self.log_group.name,
                                               "log_stream_name": self.log_stream.name},
                "dynamic_partitioning_configuration": {"enabled": True, "retry_duration": 300},
                "processing_configuration": {"enabled": True, "processors": [{
                    "type": "MetadataExtraction", "parameters": [
                        {"parameter_name": "MetadataExtractionQuery", "parameter_value": delivery.PARTITION_QUERY},
                        {"parameter_name": "JsonParsingEngine", "parameter_value": delivery.JQ_ENGINE}]}]},
                "data_format_conversion_configuration": {
                    "enabled": True,
                    # The OpenX SerDe reads RFC 3339 timestamps ending in `Z` with up to 9 fractional
                    # digits, which is how every `occurred_at` is written; keys are compared as written.
                    "input_format_configuration": {"deserializer": {"open_x_json_ser_de": {
                        "case_insensitive": False}}},
                    "output_format_configuration": {"serializer": {"parquet_ser_de": {"compression": "SNAPPY"}}},
                    "schema_configuration": {"database_name": self.database.name, "table_name": self.table.name,
                                             "role_arn": self.firehose_role.arn, "region": self.region},
                },
            })

    def _rule(self, name, bus):
        self.dead_letters = aws.sqs.Queue(f"{name}-dead-letters", message_retention_seconds=14 * 24 * 3600,
                                          opts=self._child)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule", event_bus_name=bus.name, opts=self._child,
            description="Every event, to the lake's Firehose stream",
            event_pattern=json.dumps(delivery.RULE_PATTERN))
        self.events_role = aws.iam.Role(f"{name}-events", opts=self._child,
                                        assume_role_policy=self.account.apply(
                                            lambda account: trust("events.amazonaws.com", account)))
        self.events_policy = aws.iam.RolePolicy(
            f"{name}-events", role=self.events_role.id, opts=self._child,
            policy=self.stream.arn.apply(lambda arn: policy(
                {"Effect": "Allow", "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"], "Resource": [arn]})))
        self.dead_letters_policy = aws.sqs.QueuePolicy(
            f"{name}-dead-letters", queue_url=self.dead_letters.url, opts=self._child,
            policy=pulumi.Output.all(self.dead_letters.arn, self.rule.arn).apply(lambda args: policy(
                {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                 "Resource": args[0], "Condition": {"ArnEquals": {"aws:SourceArn": args[1]}}})))
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target", rule=self.rule.name, event_bus_name=bus.name, arn=self.stream.arn,
            role_arn=self.events_role.arn, opts=self._child,
            input_transformer=delivery.INPUT_TRANSFORMER,
            retry_policy={"maximum_event_age_in_seconds": DELIVERY_MAX_AGE_SECONDS, "maximum_retry_attempts": 185},
            dead_letter_config={"arn": self.dead_letters.arn})

    def _athena(self, name, query_limit_bytes):
        self.workgroup = aws.athena.Workgroup(
            f"{name}-workgroup", name=f"{self.prefix}-lake", force_destroy=True, opts=self._child,
            description="The event lake's queries: results encrypted, each query's scan bounded",
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": query_limit_bytes,
                "engine_version": {"selected_engine_version": "Athena engine version 3"},
                "result_configuration": {
                    "output_location": self.bucket.bucket.apply(
                        lambda b: f"s3://{b}/{delivery.ATHENA_RESULTS_PREFIX}"),
                    "encryption_configuration": {"encryption_option": "SSE_KMS", "kms_key_arn": self.key.arn},
                },
            })
        self.named_queries = {
            query: aws.athena.NamedQuery(
                f"{name}-{query.replace('_', '-')}", name=query, database=self.database.name,
                workgroup=self.workgroup.name, query=athena.standalone(query), opts=self._child,
                description=f"lake/queries/{query}.sql over {athena.EVENT_LOG}")
            for query in athena.queries()
        }


def glue_arns(database: str, table: str, account: str, region: str) -> list[str]:
    base = f"arn:aws:glue:{region}:{account}"
    return [f"{base}:catalog", f"{base}:database/{database}", f"{base}:table/{database}/{table}"]


def firehose_statements(bucket_arn, key_arn, catalog_arns, log_group_arn, region) -> str:
    """What Firehose does with its role: write the bucket, encrypt with the lake's key (through S3 only),
    read the table's schema for the conversion, and log failed deliveries.
    https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3"""
    return policy(
        {"Effect": "Allow", "Resource": [bucket_arn, f"{bucket_arn}/*"],
         "Action": ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket",
                    "s3:ListBucketMultipartUploads", "s3:PutObject"]},
        {"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": [key_arn],
         "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}},
        {"Effect": "Allow", "Action": ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
         "Resource": catalog_arns},
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": [f"{log_group_arn}:*"]})


def analyst_statements(workgroup_arn, bucket_arn, key_arn, catalog_arns) -> str:
    """Run queries in the workgroup and read their results: the table's files and schema, results written
    and read under the results prefix, both encrypted with the lake's key. Nothing else of the stack."""
    return policy(
        {"Effect": "Allow", "Resource": [workgroup_arn],
         "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                    "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListNamedQueries",
                    "athena:GetNamedQuery", "athena:BatchGetNamedQuery"]},
        {"Effect": "Allow", "Action": ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"],
         "Resource": catalog_arns},
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"], "Resource": [bucket_arn]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"{bucket_arn}/{delivery.EVENTS_PREFIX}*"]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": [f"{bucket_arn}/{delivery.ATHENA_RESULTS_PREFIX}*"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": [key_arn]})
