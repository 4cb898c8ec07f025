"""The whole debts stack: the table, every Lambda function with its least privileges, the HTTP API with its
authorizer, the signing secret, the table stream's two readers (the projector's mapping and the Pipe that
publishes envelopes to the event bus), the analytics consumer on the bus, and the alarms that watch them."""

import json
import secrets
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.rust_lambda import RustLambdaFunction
from components.table import SK_PK_INDEX, debts_table

# Read-only and write actions on the table, named so least privilege is visible at a glance.
READ_ITEM = "dynamodb:GetItem"
QUERY = "dynamodb:Query"
SCAN = "dynamodb:Scan"
PUT_ITEM = "dynamodb:PutItem"
DELETE_ITEM = "dynamodb:DeleteItem"
UPDATE_ITEM = "dynamodb:UpdateItem"
CONDITION_CHECK = "dynamodb:ConditionCheckItem"
WRITE_ACTIONS = {PUT_ITEM, DELETE_ITEM, UPDATE_ITEM, "dynamodb:BatchWriteItem", CONDITION_CHECK}
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]

# Only event items leave the table through its stream readers (never read items, guards, credentials or
# analytics' own items); events are only ever inserted.
EVENT_ITEMS_ONLY = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}
# The bus events' `source`; their `detail-type` is the event type and their `detail` the documented envelope.
EVENT_SOURCE = "debts.events"
EVENT_TYPES = ["UserCreated", "DebtCreated", "DebtUpdated", "DebtDeleted"]
# The partitions analytics owns (design: keys module of the `store` crate).
ANALYTICS_PARTITIONS = ["ANALYTICS#*", "PORTFOLIO#*", "STATS#*"]

# Headers the API accepts and exposes across origins: the same list the local gateway sends.
CORS_ALLOW_HEADERS = ["authorization", "content-type", "idempotency-key", "if-match", "if-none-match",
                      "x-correlation-id"]
CORS_EXPOSE_HEADERS = ["etag", "x-correlation-id"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    protected: bool


ROUTES = [
    Route("GET", "/healthz", "healthz", False),
    Route("POST", "/users", "create-user", False),
    Route("POST", "/login", "login", False),
    Route("GET", "/users/{username}", "get-user", True),
    Route("GET", "/users/{username}/summary", "get-summary", True),
    Route("GET", "/debts", "list-debts", True),
    Route("POST", "/debts", "create-debt", True),
    Route("GET", "/debts/{debt_id}", "get-debt", True),
    Route("PUT", "/debts/{debt_id}", "update-debt", True),
    Route("DELETE", "/debts/{debt_id}", "delete-debt", True),
    Route("GET", "/debts/{debt_id}/history", "get-debt-history", True),
]


class DebtsStack:
    def __init__(self, *, architecture: str = "arm64", deletion_protection: bool = False,
                 password_iterations: int = 600_000):
        self.table = debts_table("debts", deletion_protection=deletion_protection)
        table_arn = self.table.arn
        index_arn = self.table.arn.apply(lambda arn: f"{arn}/index/{SK_PK_INDEX}")

        self.secret = aws.secretsmanager.Secret(
            "auth-secrets", name="authSecrets",
            description="JWT signing key: JSON {\"jwt_secret\": ...}. Rotate with put-secret-value; tokens signed "
                        "with the previous version (AWSPREVIOUS) keep working until the next rotation.")
        # The initial value only: later values come from rotation, which this program must not undo.
        aws.secretsmanager.SecretVersion(
            "auth-secrets-initial", secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(json.dumps({"jwt_secret": secrets.token_hex(32)})),
            opts=pulumi.ResourceOptions(ignore_changes=["secret_string"]))
        self.failures = aws.sqs.Queue("projector-failures", message_retention_seconds=14 * 24 * 3600)

        self.analytics_dlq = aws.sqs.Queue("analytics-dead-letters", message_retention_seconds=14 * 24 * 3600)

        def table_statement(actions, *, index=False, partitions=None):
            resources = [table_arn, index_arn] if index else [table_arn]
            statement = {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}
            if partitions:
                # IAM can pin these to partition-key prefixes: analytics never touches events or read items.
                statement["Condition"] = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": partitions}}
            return statement

        read_secret = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": [self.secret.arn]}
        environment = {"TABLE_NAME": self.table.name, "RUST_LOG": "info"}
        signing = {**environment, "AUTH_SECRET_NAME": "authSecrets"}
        hashing = {"PASSWORD_HASH_ITERATIONS": str(password_iterations)}
        specs = {
            # name: (memory MB, timeout s, environment, statements, description)
            "create-user": (1024, 10, {**environment, **hashing},
                            [table_statement({QUERY, READ_ITEM, PUT_ITEM, CONDITION_CHECK})], "POST /users"),
            "login": (1024, 10, {**signing, **hashing},
                      [table_statement({READ_ITEM, PUT_ITEM}), read_secret], "POST /login"),
            "create-debt": (256, 10, environment, [table_statement({QUERY, PUT_ITEM})], "POST /debts"),
            "update-debt": (256, 10, environment, [table_statement({QUERY, PUT_ITEM})], "PUT /debts/{id}"),
            "delete-debt": (256, 10, environment, [table_statement({QUERY, PUT_ITEM})], "DELETE /debts/{id}"),
            "healthz": (128, 5, environment, [table_statement({READ_ITEM})], "GET /healthz"),
            "get-user": (256, 10, environment, [table_statement({READ_ITEM})], "GET /users/{username}"),
            "list-debts": (256, 10, environment, [table_statement({QUERY}, index=True)], "GET /debts"),
            "get-debt": (256, 10, environment, [table_statement({READ_ITEM})], "GET /debts/{id}"),
            "get-debt-history": (256, 10, environment, [table_statement({QUERY})], "GET /debts/{id}/history"),
            "get-summary": (256, 10, environment, [table_statement({QUERY}, partitions=["PORTFOLIO#*"])],
                            "GET /users/{username}/summary"),
            "publish-events": (256, 10, {"RUST_LOG": "info"}, [],
                               "EventBridge Pipe enrichment: stream records to event envelopes"),
            "analytics": (256, 30, environment, [
                table_statement({QUERY, READ_ITEM, PUT_ITEM, UPDATE_ITEM}, partitions=ANALYTICS_PARTITIONS),
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [self.analytics_dlq.arn]},
            ], "Bus consumer: portfolio contributions and daily counters"),
            "authorizer": (256, 5, signing, [read_secret], "HTTP API Lambda authorizer"),
            "projector": (512, 60, environment, [
                table_statement({QUERY, READ_ITEM, PUT_ITEM}),
                {"Effect": "Allow", "Action": STREAM_READ, "Resource": [self.table.stream_arn]},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [self.failures.arn]},
            ], "DynamoDB Streams projector"),
            "replay": (1024, 900, environment, [table_statement({SCAN, QUERY, READ_ITEM, PUT_ITEM, DELETE_ITEM})],
                       "Rebuilds read items from the event log"),
        }
        self.functions = {
            name: RustLambdaFunction(name, binary=name, architecture=architecture, memory=memory, timeout=timeout,
                                     environment=env, statements=statements, description=description)
            for name, (memory, timeout, env, statements, description) in specs.items()
        }
        self._http_api()
        self._stream_mapping()
        self._event_bus()
        self._alarms()

    def _http_api(self):
        self.api = aws.apigatewayv2.Api(
            "debts-api", protocol_type="HTTP",
            cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS, max_age=600))
        authorizer_fn = self.functions["authorizer"].function
        self.authorizer = aws.apigatewayv2.Authorizer(
            "bearer", api_id=self.api.id, authorizer_type="REQUEST", authorizer_uri=authorizer_fn.invoke_arn,
            authorizer_payload_format_version="2.0", enable_simple_responses=True,
            identity_sources=["$request.header.Authorization"], authorizer_result_ttl_in_seconds=300)
        aws.lambda_.Permission("authorizer-invoke", action="lambda:InvokeFunction", function=authorizer_fn.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/authorizers/*"))
        self.integrations = {}
        self.routes = {}
        for route in ROUTES:
            function = self.functions[route.function].function
            if route.function not in self.integrations:
                self.integrations[route.function] = aws.apigatewayv2.Integration(
                    f"{route.function}-integration", api_id=self.api.id, integration_type="AWS_PROXY",
                    integration_uri=function.invoke_arn, payload_format_version="2.0")
                aws.lambda_.Permission(
                    f"{route.function}-invoke", action="lambda:InvokeFunction", function=function.name,
                    principal="apigateway.amazonaws.com",
                    source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"))
            key = f"{route.method} {route.path}"
            self.routes[key] = aws.apigatewayv2.Route(
                f"route-{route.method.lower()}-{route.path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
                api_id=self.api.id, route_key=key,
                target=self.integrations[route.function].id.apply(lambda i: f"integrations/{i}"),
                authorization_type="CUSTOM" if route.protected else "NONE",
                authorizer_id=self.authorizer.id if route.protected else None)
        self.stage = aws.apigatewayv2.Stage("default", api_id=self.api.id, name="$default", auto_deploy=True)

    def _stream_mapping(self):
        # Only event items trigger the projector: never its own read-item writes, guards or credentials.
        self.stream_mapping = aws.lambda_.EventSourceMapping(
            "projector-stream", event_source_arn=self.table.stream_arn,
            function_name=self.functions["projector"].function.name, starting_position="TRIM_HORIZON",
            batch_size=100, maximum_batching_window_in_seconds=1, function_response_types=["ReportBatchItemFailures"],
            bisect_batch_on_function_error=True, maximum_retry_attempts=10, maximum_record_age_in_seconds=86400,
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(filters=[
                aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(EVENT_ITEMS_ONLY))]),
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.failures.arn)))

    def _event_bus(self):
        """The stream's second reader: a Pipe that turns event records into envelopes (the `publish-events`
        enrichment) and puts them on the bus; and our first bus consumer, `analytics`, behind a rule."""
        self.bus = aws.cloudwatch.EventBus("debts-events", name="debts-events")
        self.pipe_failures = aws.sqs.Queue("pipe-failures", message_retention_seconds=14 * 24 * 3600)
        publish = self.functions["publish-events"].function
        self.pipe_role = aws.iam.Role(
            "events-pipe-role",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            }))
        self.pipe_policy = aws.iam.RolePolicy(
            "events-pipe-policy", role=self.pipe_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": STREAM_READ, "Resource": [self.table.stream_arn]},
                {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [publish.arn]},
                {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": [self.bus.arn]},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [self.pipe_failures.arn]},
            ]}))
        self.pipe = aws.pipes.Pipe(
            "events-to-bus", name="debts-events-to-bus", role_arn=self.pipe_role.arn,
            source=self.table.stream_arn,
            source_parameters=aws.pipes.PipeSourceParametersArgs(
                dynamodb_stream_parameters=aws.pipes.PipeSourceParametersDynamodbStreamParametersArgs(
                    starting_position="TRIM_HORIZON", batch_size=10, maximum_batching_window_in_seconds=1,
                    maximum_retry_attempts=10, maximum_record_age_in_seconds=86400,
                    on_partial_batch_item_failure="AUTOMATIC_BISECT",
                    dead_letter_config=aws.pipes.PipeSourceParametersDynamodbStreamParametersDeadLetterConfigArgs(
                        arn=self.pipe_failures.arn)),
                filter_criteria=aws.pipes.PipeSourceParametersFilterCriteriaArgs(filters=[
                    aws.pipes.PipeSourceParametersFilterCriteriaFilterArgs(pattern=json.dumps(EVENT_ITEMS_ONLY))])),
            enrichment=publish.arn,
            target=self.bus.arn,
            # The enrichment returns envelopes, so `$.event_type` reads each envelope's own type.
            target_parameters=aws.pipes.PipeTargetParametersArgs(
                eventbridge_event_bus_parameters=aws.pipes.PipeTargetParametersEventbridgeEventBusParametersArgs(
                    detail_type="$.event_type", source=EVENT_SOURCE, time="$.occurred_at")),
            opts=pulumi.ResourceOptions(depends_on=[self.pipe_policy]))

        analytics = self.functions["analytics"].function
        self.analytics_rule = aws.cloudwatch.EventRule(
            "analytics-rule", event_bus_name=self.bus.name, description="Every debts event, to analytics",
            event_pattern=json.dumps({"source": [EVENT_SOURCE], "detail-type": EVENT_TYPES}))
        self.analytics_target = aws.cloudwatch.EventTarget(
            "analytics-target", rule=self.analytics_rule.name, event_bus_name=self.bus.name, arn=analytics.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=86400, maximum_retry_attempts=185),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=self.analytics_dlq.arn))
        aws.lambda_.Permission("analytics-invoke", action="lambda:InvokeFunction", function=analytics.name,
                               principal="events.amazonaws.com", source_arn=self.analytics_rule.arn)
        # Delivery failures (EventBridge) and handler failures after Lambda's own retries both end in one queue.
        aws.lambda_.FunctionEventInvokeConfig(
            "analytics-async", function_name=analytics.name, maximum_retry_attempts=2,
            maximum_event_age_in_seconds=6 * 3600,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.analytics_dlq.arn)))
        aws.sqs.QueuePolicy(
            "analytics-dead-letters-policy", queue_url=self.analytics_dlq.url,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": self.analytics_dlq.arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": self.analytics_rule.arn}}}]}))

    def _alarms(self):
        def alarm(name, namespace, metric, dimensions, threshold, statistic="Sum"):
            return aws.cloudwatch.MetricAlarm(
                name, namespace=namespace, metric_name=metric, dimensions=dimensions, statistic=statistic,
                period=60, evaluation_periods=5, threshold=threshold, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching")

        projector = self.functions["projector"].function.name
        self.alarms = [
            alarm("projector-iterator-age", "AWS/Lambda", "IteratorAge", {"FunctionName": projector}, 60_000,
                  statistic="Maximum"),
            alarm("projector-failures-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  {"QueueName": self.failures.name}, 0, statistic="Maximum"),
            alarm("pipe-failures-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  {"QueueName": self.pipe_failures.name}, 0, statistic="Maximum"),
            alarm("analytics-dead-letters-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  {"QueueName": self.analytics_dlq.name}, 0, statistic="Maximum"),
        ]
        for name, component in self.functions.items():
            dims = {"FunctionName": component.function.name}
            self.alarms.append(alarm(f"{name}-errors", "AWS/Lambda", "Errors", dims, 0))
            self.alarms.append(alarm(f"{name}-throttles", "AWS/Lambda", "Throttles", dims, 0))
