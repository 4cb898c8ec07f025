"""The whole debts stack: the table, every Lambda function with its least privileges, the HTTP API with its
authorizer, throttling and access logs, the web client (S3 behind CloudFront), the signing secret, the table
stream's two readers (the projector and the publisher that puts each event on the bus), the analytics
consumer and the event lake (Firehose to Parquet on S3, Athena) on the bus, and the alarms that watch them
and notify an SNS topic. Every named resource carries the project and stack (`debts-dev-...`)."""

import json
import secrets
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import api_spec, footprint
from components.rust_lambda import LOG_RETENTION_DAYS, RustLambdaFunction
from components.event_lake import DEFAULT_QUERY_LIMIT_BYTES, EventLake
from components.table import debts_table
from components.web_client import WebClient, web_objects

# The table actions that change items (the read-only functions may have none of them).
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                 "dynamodb:ConditionCheckItem"}
# What Lambda itself does with a stream reader's execution role: it polls the stream for the function.
# https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html#events-dynamodb-permissions
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]

# Batches of one stream shard the projector handles at once (1-10; see `_stream_mapping`).
PROJECTOR_PARALLELIZATION_FACTOR = 10
# Only event items leave the table through its stream readers (never read items, guards, credentials or
# analytics' own items). A DynamoDB mapping filters on the record's `dynamodb` key only ("DynamoDB event source
# mappings only support filtering on the dynamodb key":
# https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html), so the filter names the key and
# nothing else; the readers themselves pass over whatever is not an insertion (the publisher) or is harmless
# to see twice (the projector catches up, idempotently).
EVENT_ITEMS_ONLY = {"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}
# The bus events' `source`; their `detail-type` is the event type and their `detail` the documented envelope.
EVENT_SOURCE = "debts.events"
# The event an unfinished replay job puts on the bus to go on in a new invocation
# (`projections::replay_job::CONTINUATION_SOURCE` and `CONTINUATION_DETAIL_TYPE`).
REPLAY_CONTINUATION = {"source": ["debts.replay"], "detail-type": ["ReplayJobContinues"]}
# What each function's code asks of AWS, as the test suites recorded it (infrastructure/footprint.json): the
# only source of the functions' own permissions.
FOOTPRINT = footprint.load()
# A token stays accepted this long after its expiry or its key's rotation at most: API Gateway caches the
# authorizer's answer per Authorization header for this many seconds. Short, because a cached "yes" outlives
# whatever made it true; not zero, because each miss costs an authorizer invocation.
AUTHORIZER_CACHE_SECONDS = 30

# One JSON line per request in the stage's access log (API Gateway `$context` variables).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId", "routeKey": "$context.routeKey", "status": "$context.status",
    "responseLatency": "$context.responseLatency", "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
    "sourceIp": "$context.identity.sourceIp", "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
}

# The namespace of the metrics the functions emit (`lambda_support::metrics::NAMESPACE`).
NAMESPACE = "Debts"

# Origins, methods and headers the API allows and exposes across origins: docs/openapi.json's `x-cors`, which
# the local gateway answers with too.
CORS = api_spec.cors()


# The routes and the functions serving them come from docs/openapi.json (components/api_spec.py).
ROUTES = api_spec.routes()
# The concurrency Lambda keeps unreserved in every account: reservations must leave it free.
UNRESERVED_CONCURRENCY_KEPT = 100

# The functions that serve no route; every other function of the stack is an HTTP function.
EVENT_FUNCTIONS = {"authorizer", "projector", "replay", "publish-events", "analytics", "notice-sweep",
                   "notice-email"}

# The notice events the emailer takes from the bus (their `detail-type`s).
NOTICE_TYPES = ["PaymentDueSoon", "PaymentMissed", "PromoEndingSoon"]
# Functions deployed only when the stack's settings ask for them: footprint.json may name them regardless.
OPTIONAL_FUNCTIONS = {"notice-email"}

# How often the notice sweep runs (`notices::sweep`): a notice falls due on the hour in its owner's zone and
# goes out within this long of it.
NOTICE_SWEEP_SCHEDULE = "rate(15 minutes)"


@dataclass(frozen=True)
class Settings:
    """What a stack's config (Pulumi.<stack>.yaml) may set; the defaults suit a dev stack."""
    prefix: str = "debts-test"
    architecture: str = "arm64"
    deletion_protection: bool = False
    password_iterations: int = 600_000
    secret_name: str | None = None
    # 0 deletes the secret at once on destroy, so a destroyed stack can be deployed again the same day.
    secret_recovery_days: int = 0
    api_rate_limit: float = 100.0
    api_burst_limit: int = 200
    hashing_rate_limit: float = 10.0
    hashing_burst_limit: int = 20
    # Reserved for login and create-user each, so a flood of logins cannot take the account's whole
    # concurrency (and throttle the projector). Lambda keeps 100 of an account's concurrency unreserved, so
    # reserving N each needs a quota of at least 100 + 2N (`account_concurrency_needed`); new accounts often
    # have 10 or 50, hence none by default.
    # https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
    hashing_concurrency: int | None = None
    alarm_email: str | None = None
    # The sender of notice emails (an address or a domain SES verifies); unset, no email is sent and the
    # notice-email function, its rule and the SES identity are not created.
    mail_from: str | None = None
    # The most one Athena query over the lake may scan before Athena cancels it.
    lake_query_limit_bytes: int = DEFAULT_QUERY_LIMIT_BYTES

    @property
    def secret(self) -> str:
        return self.secret_name or f"{self.prefix}/auth"

    @property
    def reserved_concurrency(self) -> dict[str, int]:
        """The functions given reserved concurrency, and how much each."""
        if not self.hashing_concurrency:
            return {}
        return {"login": self.hashing_concurrency, "create-user": self.hashing_concurrency}

    @property
    def account_concurrency_needed(self) -> int:
        """The account concurrency quota the reservations need: Lambda keeps 100 unreserved."""
        return UNRESERVED_CONCURRENCY_KEPT + sum(self.reserved_concurrency.values())


ROUTE_FUNCTIONS = sorted({route.function for route in ROUTES})



class DebtsStack:
    def __init__(self, settings: Settings | None = None):
        settings = settings or Settings()
        self.settings = settings
        prefix = settings.prefix
        architecture = settings.architecture
        self.table = debts_table("debts", deletion_protection=settings.deletion_protection)
        table_arn = self.table.arn

        self.secret = aws.secretsmanager.Secret(
            "auth-secrets", name=settings.secret, recovery_window_in_days=settings.secret_recovery_days,
            description="JWT signing key: JSON {\"jwt_secret\": ...}. Rotate with put-secret-value; tokens signed "
                        "with the previous version (AWSPREVIOUS) keep working until the next rotation.")
        # The initial value only: later values come from rotation, which this program must not undo.
        aws.secretsmanager.SecretVersion(
            "auth-secrets-initial", secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(json.dumps({"jwt_secret": secrets.token_hex(32)})),
            opts=pulumi.ResourceOptions(ignore_changes=["secret_string"]))
        # Wraps every user's data key. Erasing a user deletes their wrapped key from the table; the KMS key
        # itself stays (it wraps everyone else's). Rotation keeps old wrapped keys decryptable.
        self.data_keys = aws.kms.Key(
            "data-keys", description=f"{prefix}: wraps each user's data key (crypto-shredding of personal data)",
            enable_key_rotation=True, deletion_window_in_days=30)
        self.failures = aws.sqs.Queue("projector-failures", message_retention_seconds=14 * 24 * 3600)

        self.analytics_dlq = aws.sqs.Queue("analytics-dead-letters", message_retention_seconds=14 * 24 * 3600)
        self.publish_failures = aws.sqs.Queue("publish-failures", message_retention_seconds=14 * 24 * 3600)
        self.bus = aws.cloudwatch.EventBus("debts-events", name=f"{prefix}-events")
        # Before the functions: the notice emailer's unsubscribe links name the API's URL.
        self.api = aws.apigatewayv2.Api(
            "debts-api", protocol_type="HTTP",
            cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=CORS.allow_origins, allow_methods=CORS.allow_methods,
                allow_headers=CORS.allow_headers, expose_headers=CORS.expose_headers, max_age=CORS.max_age))
        self.mail_identity = None
        if settings.mail_from:
            # SES sends only from a verified identity: an address (SES mails it a link to confirm) or a
            # domain (its DKIM records go into DNS). https://docs.aws.amazon.com/ses/latest/dg/creating-identities.html
            self.mail_identity = aws.sesv2.EmailIdentity("mail-from", email_identity=settings.mail_from)
            self.notice_email_dlq = aws.sqs.Queue("notice-email-dead-letters",
                                                  message_retention_seconds=14 * 24 * 3600)

        base_environment = {"TABLE_NAME": self.table.name, "RUST_LOG": "info"}
        # Every function that builds the sealing store names the key; its footprint says whether it may use it.
        environment = {**base_environment, "KMS_KEY_ID": self.data_keys.arn}
        signing = {**base_environment, "AUTH_SECRET_NAME": self.secret.name}
        hashing = {"PASSWORD_HASH_ITERATIONS": str(settings.password_iterations)}
        # name: (memory MB, timeout s, environment, description); an HTTP function's description is the routes
        # it serves, from docs/openapi.json. What each may do is its footprint's, below.
        http = {name: (256, 10, environment, None) for name in ROUTE_FUNCTIONS}
        specs = {
            **http,
            "create-user": (1024, 10, {**environment, **hashing}, None),
            "login": (1024, 10, {**signing, **hashing}, None),
            "erase-user": (1024, 10, {**environment, **hashing}, None),
            "healthz": (128, 5, environment, None),
            "publish-events": (256, 30, {"RUST_LOG": "info", "EVENT_BUS_NAME": self.bus.name},
                               "The stream's second reader: each committed event to the event bus (PutEvents)"),
            "analytics": (256, 30, base_environment, "Bus consumer: portfolio contributions and daily counters"),
            "authorizer": (256, 5, signing, "HTTP API Lambda authorizer"),
            "projector": (512, 60, environment, "DynamoDB Streams projector"),
            "notice-sweep": (512, 300, base_environment,
                             "Every 15 minutes: appends the notices whose time has come (the notice time index)"),
            **({"notice-email": (256, 30, {**environment, "MAIL_FROM": settings.mail_from,
                                           "API_URL": self.api.api_endpoint},
                                 "Bus consumer: emails notices to the users who asked (Amazon SES)")}
               if settings.mail_from else {}),
            "replay": (1024, 900, {**environment, "EVENT_BUS_NAME": self.bus.name},
                       "Rebuilds read items from the event log, as a job that continues itself through the bus"),
        }
        unknown = set(FOOTPRINT) - set(specs) - OPTIONAL_FUNCTIONS
        if unknown:
            raise ValueError(f"footprint.json names functions the stack does not have: {sorted(unknown)}")
        resources = {"table": table_arn, "data-keys": self.data_keys.arn,
                     "auth-secret": self.secret.arn, "bus": self.bus.arn}
        if self.mail_identity is not None:
            resources["mail-identity"] = self.mail_identity.arn

        # What Lambda does with a function's role on its behalf, not its code, follows from how the function
        # is wired: a stream reader's role polls the stream and sends what failed to its on-failure
        # destination (with-ddb.html, above); an asynchronously invoked function's role sends a failed
        # invocation to its destination.
        # https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
        self.stream_readers = {"projector": self.failures, "publish-events": self.publish_failures}
        self.async_destinations = {"analytics": self.analytics_dlq}
        if settings.mail_from:
            self.async_destinations["notice-email"] = self.notice_email_dlq
        on_behalf = {}
        for name, failures in self.stream_readers.items():
            on_behalf.setdefault(name, []).extend([
                {"Effect": "Allow", "Action": STREAM_READ, "Resource": [self.table.stream_arn]},
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [failures.arn]}])
        for name, destination in self.async_destinations.items():
            on_behalf.setdefault(name, []).append(
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [destination.arn]})
        statements = {name: footprint.statements(FOOTPRINT.get(name, []), resources) + on_behalf.get(name, [])
                      for name in specs}
        api_spec.check_functions(ROUTES, set(specs) - EVENT_FUNCTIONS)
        served = {}
        for route in ROUTES:
            served.setdefault(route.function, []).append(route.key)
        reserved = settings.reserved_concurrency
        self.functions = {
            name: RustLambdaFunction(name, prefix=prefix, binary=name, architecture=architecture, memory=memory,
                                     timeout=timeout, environment=env, statements=statements[name],
                                     description=description or ", ".join(served[name]),
                                     reserved_concurrency=reserved.get(name))
            for name, (memory, timeout, env, description) in specs.items()
        }
        # The routes that hash a password (600,000 PBKDF2 rounds each): those of the functions given a work
        # factor. They are throttled tighter than the rest.
        self.hashing_routes = [route.key for route in ROUTES
                               if "PASSWORD_HASH_ITERATIONS" in specs[route.function][2]]
        self._http_api()
        self._stream_mapping()
        self._event_bus()
        # Every event on the bus, as Parquet on S3 for Athena (docs/analytics.md).
        self.lake = EventLake("lake", prefix=prefix, bus=self.bus, log_retention_days=LOG_RETENTION_DAYS,
                              query_limit_bytes=settings.lake_query_limit_bytes)
        self._notice_schedule()
        if settings.mail_from:
            self._notice_email()
        self._alarms()
        self._dashboard()
        # The web client calls the API from the distribution's origin: the API's CORS (`x-cors`) allows any
        # origin, and the page's connect-src names the API.
        self.web = WebClient("web", prefix=prefix, api_url=self.api.api_endpoint, objects=web_objects())

    def _http_api(self):
        authorizer_fn = self.functions["authorizer"].function
        self.authorizer = aws.apigatewayv2.Authorizer(
            "bearer", api_id=self.api.id, authorizer_type="REQUEST", authorizer_uri=authorizer_fn.invoke_arn,
            authorizer_payload_format_version="2.0", enable_simple_responses=True,
            identity_sources=["$request.header.Authorization"],
            authorizer_result_ttl_in_seconds=AUTHORIZER_CACHE_SECONDS)
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
            key = route.key
            self.routes[key] = aws.apigatewayv2.Route(
                f"route-{route.method.lower()}-{route.path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
                api_id=self.api.id, route_key=key,
                target=self.integrations[route.function].id.apply(lambda i: f"integrations/{i}"),
                authorization_type="CUSTOM" if route.protected else "NONE",
                authorizer_id=self.authorizer.id if route.protected else None)
        settings = self.settings
        self.access_logs = aws.cloudwatch.LogGroup(
            "api-access-logs", name=f"/aws/apigateway/{settings.prefix}-access",
            retention_in_days=LOG_RETENTION_DAYS)
        self.stage = aws.apigatewayv2.Stage(
            "default", api_id=self.api.id, name="$default", auto_deploy=True,
            # Every route: a ceiling for the whole API. The hashing routes: far lower, since each request
            # costs hundreds of milliseconds of CPU.
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=settings.api_rate_limit, throttling_burst_limit=settings.api_burst_limit),
            route_settings=[
                aws.apigatewayv2.StageRouteSettingArgs(
                    route_key=key, throttling_rate_limit=settings.hashing_rate_limit,
                    throttling_burst_limit=settings.hashing_burst_limit)
                for key in self.hashing_routes] + [
                # A route's own throttle from docs/openapi.json (`x-throttle`): the public calendar feed.
                aws.apigatewayv2.StageRouteSettingArgs(
                    route_key=route.key, throttling_rate_limit=route.throttle.rate,
                    throttling_burst_limit=route.throttle.burst)
                for route in ROUTES if route.throttle],
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=json.dumps(ACCESS_LOG_FORMAT)),
            opts=pulumi.ResourceOptions(depends_on=[self.routes[key] for key in self.hashing_routes] +
                                        [self.routes[route.key] for route in ROUTES if route.throttle]))

    def _stream_reader(self, name, function, failures, parallelization_factor=1):
        """A reader of the table's stream that sees event items only (never read items, guards or
        credentials), reports failed records (`ReportBatchItemFailures`), bisects a failing batch, and sends
        what it cannot process within a day to `failures`. Events of one aggregate share a partition key, so
        a shard gives them to the reader in order, and with a `parallelization_factor` above 1 Lambda still
        keeps one partition key's records in order across the shard's concurrent batches."""
        return aws.lambda_.EventSourceMapping(
            name, event_source_arn=self.table.stream_arn, function_name=function.name,
            starting_position="TRIM_HORIZON", batch_size=100, maximum_batching_window_in_seconds=1,
            parallelization_factor=parallelization_factor,
            function_response_types=["ReportBatchItemFailures"], bisect_batch_on_function_error=True,
            maximum_retry_attempts=10, maximum_record_age_in_seconds=86400,
            filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(filters=[
                aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(EVENT_ITEMS_ONLY))]),
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=failures.arn)))

    def _stream_mapping(self):
        # Ten batches of a shard at once (Lambda's maximum): one batch at a time, the read items fell further
        # behind with every write above what one invocation projects (issue 18). Order within an aggregate
        # holds, as above, and the projector does not depend on it anyway (it catches up from the table).
        self.stream_mapping = self._stream_reader(
            "projector-stream", self.functions["projector"].function, self.stream_readers["projector"],
            parallelization_factor=PROJECTOR_PARALLELIZATION_FACTOR)

    def _event_bus(self):
        """The stream's second reader: `publish-events` puts each committed event on the bus with PutEvents
        (`detail-type` = the event type, `detail` = the envelope), retrying entries PutEvents refused; and our
        first bus consumer, `analytics`, behind a rule."""
        self.publish_mapping = self._stream_reader(
            "publish-stream", self.functions["publish-events"].function, self.stream_readers["publish-events"])

        # Every type, so a new event type reaches analytics without a change here.
        self.analytics_rule, self.analytics_target = self._bus_consumer(
            "analytics", "Every debts event, to analytics", {"source": [EVENT_SOURCE]}, max_age=86400,
            max_retries=185)

        # A replay job that reaches its invocation's deadline puts a continuation on the bus; this rule
        # invokes `replay` with it, asynchronously, so the job goes on in a fresh 15 minutes. Lambda retries
        # a failed asynchronous invocation twice; the checkpoints make a retry resume, never restart.
        replay = self.functions["replay"].function
        self.replay_rule = aws.cloudwatch.EventRule(
            "replay-continuation-rule", event_bus_name=self.bus.name,
            description="A replay job's continuation, to the replay function",
            event_pattern=json.dumps(REPLAY_CONTINUATION))
        self.replay_target = aws.cloudwatch.EventTarget(
            "replay-continuation-target", rule=self.replay_rule.name, event_bus_name=self.bus.name,
            arn=replay.arn)
        aws.lambda_.Permission("replay-invoke", action="lambda:InvokeFunction", function=replay.name,
                               principal="events.amazonaws.com", source_arn=self.replay_rule.arn)

    def _bus_consumer(self, name, description, pattern, max_age, max_retries):
        """A consumer of the bus: a rule with `pattern` invoking the function `name`, retried by EventBridge
        (`max_age` seconds, `max_retries` times), then by Lambda (asynchronous invocation: twice); delivery
        failures and handler failures after those retries both end in the function's dead-letter queue
        (`async_destinations`), which only this rule may send to. Answers the rule and its target."""
        function = self.functions[name].function
        dead_letters = self.async_destinations[name]
        rule = aws.cloudwatch.EventRule(f"{name}-rule", event_bus_name=self.bus.name, description=description,
                                        event_pattern=json.dumps(pattern))
        target = aws.cloudwatch.EventTarget(
            f"{name}-target", rule=rule.name, event_bus_name=self.bus.name, arn=function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=max_age, maximum_retry_attempts=max_retries),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn))
        aws.lambda_.Permission(f"{name}-invoke", action="lambda:InvokeFunction", function=function.name,
                               principal="events.amazonaws.com", source_arn=rule.arn)
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async", function_name=function.name, maximum_retry_attempts=2,
            maximum_event_age_in_seconds=6 * 3600,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=dead_letters.arn)))
        aws.sqs.QueuePolicy(
            f"{name}-dead-letters-policy", queue_url=dead_letters.url,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                "Resource": dead_letters.arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}}}]}))
        return rule, target

    def _notice_email(self):
        """The notice emailer behind a rule of its own: the three notice types, each event to `notice-email`,
        retried by EventBridge and then by Lambda (asynchronous invocation), what still fails kept in a queue.
        Its role may send from the stack's SES identity only (its footprint: `ses:SendEmail`)."""
        self.notice_rule, self.notice_target = self._bus_consumer(
            "notice-email", "Notices, to the emailer", {"source": [EVENT_SOURCE], "detail-type": NOTICE_TYPES},
            max_age=6 * 3600, max_retries=20)

    def _notice_schedule(self):
        """EventBridge Scheduler runs `notice-sweep` every 15 minutes: one schedule, whatever the number of
        debts (a schedule per debt would meet Scheduler's quota of schedules per account), through a role
        Scheduler assumes that may invoke that one function and nothing else. Scheduler invokes a Lambda
        target asynchronously and retries as its retry policy says; a run that overlaps another is harmless
        (the sweep is idempotent).
        https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role
        https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html"""
        sweep = self.functions["notice-sweep"].function
        self.scheduler_role = aws.iam.Role(
            "notice-sweep-scheduler", name=f"{self.settings.prefix}-notice-sweep-scheduler",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))
        aws.iam.RolePolicy(
            "notice-sweep-scheduler-invoke", role=self.scheduler_role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [sweep.arn]}]}))
        self.notice_schedule = aws.scheduler.Schedule(
            "notice-sweep-schedule", name=f"{self.settings.prefix}-notice-sweep",
            description="The notice sweep: notices whose time has come, appended to their debts",
            schedule_expression=NOTICE_SWEEP_SCHEDULE,
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=sweep.arn, role_arn=self.scheduler_role.arn, input="{}",
                # A run older than the next one's start is not worth retrying: the next reads the same hours.
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=900)))

    def _alarms(self):
        """Every alarm notifies one SNS topic (and, when `alarmEmail` is set, that address). One minute out of
        the last five over the threshold is enough: a burst of errors alarms, it does not have to last."""
        self.alarm_topic = aws.sns.Topic("alarms", name=f"{self.settings.prefix}-alarms")
        if self.settings.alarm_email:
            aws.sns.TopicSubscription("alarms-email", topic=self.alarm_topic.arn, protocol="email",
                                      endpoint=self.settings.alarm_email)

        def alarm(name, namespace, metric, dimensions, threshold, statistic="Sum"):
            return aws.cloudwatch.MetricAlarm(
                name, name=f"{self.settings.prefix}-{name}", namespace=namespace, metric_name=metric,
                dimensions=dimensions, statistic=statistic, period=60, evaluation_periods=5,
                datapoints_to_alarm=1, threshold=threshold, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", alarm_actions=[self.alarm_topic.arn],
                ok_actions=[self.alarm_topic.arn])

        def queued(queue):
            return {"QueueName": queue.name}

        self.alarms = [
            alarm("api-5xx", "AWS/ApiGateway", "5xx", {"ApiId": self.api.id, "Stage": "$default"}, 0),
            alarm("projector-iterator-age", "AWS/Lambda", "IteratorAge",
                  {"FunctionName": self.functions["projector"].function.name}, 60_000, statistic="Maximum"),
            alarm("publisher-iterator-age", "AWS/Lambda", "IteratorAge",
                  {"FunctionName": self.functions["publish-events"].function.name}, 60_000, statistic="Maximum"),
            alarm("projector-failures-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  queued(self.failures), 0, statistic="Maximum"),
            alarm("publish-failures-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  queued(self.publish_failures), 0, statistic="Maximum"),
            alarm("analytics-dead-letters-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  queued(self.analytics_dlq), 0, statistic="Maximum"),
            # An event EventBridge could not deliver to the lake's stream for a day: backfill it.
            alarm("lake-dead-letters-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                  queued(self.lake.dead_letters), 0, statistic="Maximum"),
            # An event Firehose could not convert to the table's columns: it waits under errors/.
            alarm("lake-failed-conversions", "AWS/Firehose", "FailedConversion.Records",
                  {"DeliveryStreamName": self.lake.stream.name}, 0),
            *([alarm("notice-email-dead-letters-queued", "AWS/SQS", "ApproximateNumberOfMessagesVisible",
                     queued(self.notice_email_dlq), 0, statistic="Maximum")] if self.settings.mail_from else []),
            # An erasure whose rewrite of the user's read items failed: personal data stays in clear there
            # until a retry finishes it (each retry goes on from the erasure's record).
            alarm("erasure-unfinished", NAMESPACE, "ErasuresUnfinished", {"Function": "projector"}, 0),
            # A debt the notice sweep could not ask (moved to the next hour each run until it can).
            alarm("notice-sweep-failures", NAMESPACE, "NoticeSweepFailures", {"Function": "notice-sweep"}, 0),
        ]
        for name, component in self.functions.items():
            dims = {"FunctionName": component.function.name}
            self.alarms.append(alarm(f"{name}-errors", "AWS/Lambda", "Errors", dims, 0))
            self.alarms.append(alarm(f"{name}-throttles", "AWS/Lambda", "Throttles", dims, 0))

    def _dashboard(self):
        """One CloudWatch dashboard: the API, the functions, the stream readers and the custom metrics the
        functions emit in Embedded Metric Format (namespace `Debts`, see docs/operations.md)."""
        region = aws.get_region_output().region
        names = {name: c.function.name for name, c in self.functions.items()}

        def body(args):
            api_id, region_name, *function_names = args

            # The region is each metric widget's (a required property there); the body has no top-level one.
            def widget(title, metrics, x, y, stat="Sum"):
                return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                        "properties": {"title": title, "metrics": metrics, "stat": stat, "period": 60,
                                       "view": "timeSeries", "region": region_name}}

            functions = dict(zip(names, function_names))
            per_function = lambda metric: [["AWS/Lambda", metric, "FunctionName", functions[n]] for n in functions]
            return json.dumps({"widgets": [
                widget("API requests and errors", [["AWS/ApiGateway", m, "ApiId", api_id, "Stage", "$default"]
                                                   for m in ("Count", "4xx", "5xx")], 0, 0),
                widget("API latency (p99)", [["AWS/ApiGateway", "Latency", "ApiId", api_id, "Stage", "$default"]],
                       12, 0, stat="p99"),
                widget("Function errors", per_function("Errors"), 0, 6),
                widget("Function throttles", per_function("Throttles"), 12, 6),
                widget("Commands accepted and refused",
                       [[NAMESPACE, "Accepted", "Function", n] for n in ROUTE_FUNCTIONS]
                       + [[NAMESPACE, "ConcurrencyConflicts", "Function", n]
                          for n in ("update-debt", "delete-debt", "record-payment", "add-charge",
                                    "change-rate", "record-statement")],
                       0, 12),
                widget("Stream readers: iterator age (max)",
                       [["AWS/Lambda", "IteratorAge", "FunctionName", functions[n]]
                        for n in ("projector", "publish-events")], 12, 12, stat="Maximum"),
                widget("Projection lag (max)", [[NAMESPACE, "ProjectionLag", "Function", "projector"]], 0, 18,
                       stat="Maximum"),
                widget("Events published and counted",
                       [[NAMESPACE, m, "Function", "publish-events"] for m in
                        ("EventsPublished", "EntriesRefused", "RecordsReported")]
                       + [[NAMESPACE, m, "Function", "analytics"] for m in ("EventsCounted", "EventsRedelivered")],
                       12, 18),
            ], "start": "-PT3H"})

        self.dashboard = aws.cloudwatch.Dashboard(
            "dashboard", dashboard_name=self.settings.prefix,
            dashboard_body=pulumi.Output.all(self.api.id, region, *names.values()).apply(body))
