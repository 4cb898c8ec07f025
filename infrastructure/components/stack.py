"""The whole debts stack: the table, every Lambda function with its least privileges, the HTTP API with its
authorizer, the signing secret, the projector's stream mapping, and the alarms that watch them."""

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
CONDITION_CHECK = "dynamodb:ConditionCheckItem"
WRITE_ACTIONS = {PUT_ITEM, DELETE_ITEM, "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", CONDITION_CHECK}

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

        def table_statement(actions, *, index=False):
            resources = [table_arn, index_arn] if index else [table_arn]
            return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources}

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
            "authorizer": (256, 5, signing, [read_secret], "HTTP API Lambda authorizer"),
            "projector": (512, 60, environment, [
                table_statement({QUERY, READ_ITEM, PUT_ITEM}),
                {"Effect": "Allow", "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords",
                                               "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
                 "Resource": [self.table.stream_arn]},
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
                aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(
                    {"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}))]),
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=self.failures.arn)))

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
        ]
        for name, component in self.functions.items():
            dims = {"FunctionName": component.function.name}
            self.alarms.append(alarm(f"{name}-errors", "AWS/Lambda", "Errors", dims, 0))
            self.alarms.append(alarm(f"{name}-throttles", "AWS/Lambda", "Throttles", dims, 0))
