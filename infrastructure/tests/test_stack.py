"""What `pulumi up` would create, checked offline: routes and their protection, throttling and access logs,
least privilege with partition pins, the table stream's two readers (the projector and the publisher), the
analytics rule, alarms that notify, names that carry the stack, and one function per Lambda binary of the
Cargo workspace."""

import copy
import glob
import json
import os
from pathlib import Path

import pulumi
import pytest

from conftest import MOCKS
from iam import Request, allowed
from components import api_spec
from components.rust_lambda import APPLICATION_LOG_LEVEL
from components.stack import (EVENT_FUNCTIONS, EVENT_SOURCE, FOOTPRINT, REPLAY_CONTINUATION, ROUTES, WRITE_ACTIONS,
                              DebtsStack, Settings)

# Every event type of the published contract: one `oneOf` branch of the envelope schema each.
CONTRACT_EVENT_TYPES = [
    branch["properties"]["event_type"]["const"]
    for branch in json.loads((Path(__file__).parents[2] / "docs/schemas/envelope.schema.json").read_text())["oneOf"]
]
SETTINGS = Settings(prefix="debts-test", mail_from="notices@example.com")
STACK = DebtsStack(SETTINGS)
PREFIX = SETTINGS.prefix
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERY_FUNCTIONS = {"healthz", "get-user", "get-summary", "list-debts", "get-debt", "get-debt-history",
                   "get-payoff-plan", "get-debt-schedule"}
STREAM_ARN_SUFFIX = "table/debts/stream/2026"
# Only the `dynamodb` key: the one a DynamoDB mapping's filter may name (Lambda's with-ddb-filtering page).
EVENT_ITEMS_ONLY = {"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}


def declared(typ):
    return [(name, inputs) for (t, name, inputs) in MOCKS.resources if t == typ]


def after_deployment(check):
    """Runs `check` once every resource of the stack is registered with the mocks."""
    urns = [c.function.urn for c in STACK.functions.values()] + [r.urn for r in STACK.routes.values()]
    urns += [STACK.stream_mapping.urn, STACK.stage.urn, STACK.authorizer.urn] + [a.urn for a in STACK.alarms]
    urns += [c.policy.urn for c in STACK.functions.values()]
    urns += [STACK.publish_mapping.urn, STACK.analytics_rule.urn, STACK.analytics_target.urn]
    urns += [STACK.alarm_topic.urn, STACK.access_logs.urn, STACK.secret.urn, STACK.bus.urn, STACK.dashboard.urn]
    urns += [STACK.notice_schedule.urn, STACK.scheduler_role.urn, STACK.notice_rule.urn, STACK.notice_target.urn,
             STACK.mail_identity.urn]
    urns += [o.urn for o in STACK.web.objects] + [STACK.web.config.urn, STACK.web.distribution.urn]
    return pulumi.Output.all(*urns).apply(lambda _: check())


@pulumi.runtime.test
def test_every_route_reaches_its_function_and_protected_ones_pass_the_authorizer():
    def check():
        routes = {inputs["route_key"]: inputs for _, inputs in declared("aws:apigatewayv2/route:Route")}
        integrations = {f"{name}-id": inputs for name, inputs in declared("aws:apigatewayv2/integration:Integration")}
        assert set(routes) == {f"{r.method} {r.path}" for r in ROUTES}
        for route in ROUTES:
            declared_route = routes[f"{route.method} {route.path}"]
            integration = integrations[declared_route["target"].removeprefix("integrations/")]
            assert integration["integration_uri"].endswith(f"/functions/{PREFIX}-{route.function}/invocations"), route
            assert integration["payload_format_version"] == "2.0"
            if route.protected:
                assert declared_route["authorization_type"] == "CUSTOM", route
                assert declared_route["authorizer_id"] == "bearer-id", route
            else:
                assert declared_route["authorization_type"] == "NONE", route
                assert not declared_route.get("authorizer_id"), route
        public = {f"{r.method} {r.path}" for r in ROUTES if not r.protected}
        assert public == {"GET /healthz", "POST /login", "POST /users", "GET /calendar/{feed}",
                          "GET /unsubscribe/{token}", "POST /unsubscribe/{token}"}
    return after_deployment(check)


@pulumi.runtime.test
def test_the_authorizer_uses_simple_responses_on_the_authorization_header():
    def check():
        [(_, authorizer)] = declared("aws:apigatewayv2/authorizer:Authorizer")
        assert authorizer["authorizer_type"] == "REQUEST"
        assert authorizer["enable_simple_responses"] is True
        assert authorizer["authorizer_payload_format_version"] == "2.0"
        assert authorizer["identity_sources"] == ["$request.header.Authorization"]
        # A cached "yes" outlives a token's expiry or its key's rotation by up to this long.
        assert 0 < authorizer["authorizer_result_ttl_in_seconds"] <= 60
        assert authorizer["authorizer_uri"].endswith(f"/functions/{PREFIX}-authorizer/invocations")
        [(_, api)] = declared("aws:apigatewayv2/api:Api")
        cors = api["cors_configuration"]
        documented = api_spec.load_spec()["x-cors"]
        assert cors == {"allow_origins": documented["allowOrigins"], "allow_methods": documented["allowMethods"],
                        "allow_headers": documented["allowHeaders"], "expose_headers": documented["exposeHeaders"],
                        "max_age": documented["maxAge"]}
    return after_deployment(check)


def test_every_header_a_response_declares_is_exposed_to_scripts():
    """A script on another origin reads only the headers CORS exposes: a 503's Retry-After among them, and the
    correlation id every answer carries."""
    exposed = set(api_spec.cors().expose_headers)
    assert {"etag", "retry-after"} <= api_spec.response_headers()
    assert api_spec.response_headers() | {"x-correlation-id"} <= exposed


def variable(function, name):
    """A function's environment variable (the mocks' snake_case conversion mangles upper-case keys)."""
    variables = function["environment"]["variables"]
    [value] = [v for k, v in variables.items() if k.replace("_", "") == name.replace("_", "").lower()]
    return value


def policies():
    """Each function's policy statements, by function name."""
    found = {}
    for name, inputs in declared("aws:iam/rolePolicy:RolePolicy"):
        if name.removesuffix("-policy") in STACK.functions:
            found[name.removesuffix("-policy")] = json.loads(inputs["policy"])["Statement"]
    return found


@pulumi.runtime.test
def test_least_privilege():
    def check():
        all_policies = policies()
        assert set(all_policies) == set(STACK.functions)
        for function, statements in all_policies.items():
            actions = {a for s in statements for a in s["Action"]}
            resources = [r for s in statements for r in s["Resource"]]
            assert not any("*" in a for a in actions), (function, actions)
            assert all(r and r != "*" for r in resources), (function, resources)
            assert all(not r.endswith(":*") or "log-group" in r or "/aws/lambda/" in r for r in resources), function
            if function in QUERY_FUNCTIONS:
                assert not actions & WRITE_ACTIONS, (function, actions)
            if function != "replay":
                assert "dynamodb:Scan" not in actions, function
            # Removals: replay's orphans, an erasure's keys, expired Idempotency-Key records, a replaced or
            # revoked calendar feed, a swept notice time-index entry.
            if function not in {"replay", "record-payment", "add-charge", "erase-user", "create-user",
                                "issue-calendar-feed", "revoke-calendar-feed", "notice-sweep"}:
                assert "dynamodb:DeleteItem" not in actions, function
            if function in {"authorizer"}:
                # One read: the token's user still has credentials (an erased user has none).
                assert {a for a in actions if a.startswith("dynamodb:")} == {"dynamodb:GetItem"}, function
            reads_secret = "secretsmanager:GetSecretValue" in actions
            assert reads_secret == (function in {"login", "authorizer"}), function
        # The publisher reads the stream and puts on the bus; it cannot touch a table item.
        publisher = {a for s in all_policies["publish-events"] for a in s["Action"]}
        assert "events:PutEvents" in publisher and not publisher & (WRITE_ACTIONS | {"dynamodb:GetItem", "dynamodb:Query"})
        # Analytics only touches its own partitions.
        for leading in leading_keys(all_policies["analytics"]):
            assert not any(p.startswith(("USER#", "DEBT#", "EMAIL#")) for p in leading), leading
        # A calendar feed's functions remove feeds only; the sweep removes time-index entries only.
        for function, family in (("issue-calendar-feed", "CALENDAR#*"), ("revoke-calendar-feed", "CALENDAR#*"),
                                 ("notice-sweep", "NOTICE#*")):
            for statement in all_policies[function]:
                if "dynamodb:DeleteItem" in statement["Action"]:
                    assert leading_keys([statement]) == [[family]], function
        # A payment, a charge or a registration removes nothing but an expired Idempotency-Key record.
        for function in ("record-payment", "add-charge", "create-user"):
            for statement in all_policies[function]:
                if "dynamodb:DeleteItem" in statement["Action"]:
                    assert leading_keys([statement]) in ([["IDEMPOTENCY#debts#*"]], [["IDEMPOTENCY#users#*"]]), function
    return after_deployment(check)


def leading_keys(statements):
    """The `dynamodb:LeadingKeys` of each statement that grants a table action (None where unpinned)."""
    table = [s for s in statements if any(a.startswith("dynamodb:") and a not in STREAM_ACTIONS for a in s["Action"])]
    return [s.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys") for s in table]


STREAM_ACTIONS = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}


def resource_arns():
    """The ARN of each resource role the footprint names, as the mocks declared it."""
    [(_, table)] = declared("aws:dynamodb/table:Table")
    key = dict(declared("aws:kms/key:Key"))["data-keys"]
    [(_, secret)] = declared("aws:secretsmanager/secret:Secret")
    [(_, bus)] = declared("aws:cloudwatch/eventBus:EventBus")
    [(_, identity)] = declared("aws:sesv2/emailIdentity:EmailIdentity")
    return {"table": table["arn"], "data-keys": key["arn"],
            "auth-secret": secret["arn"], "bus": bus["arn"], "mail-identity": identity["arn"]}


def requests_for(grant, arns, partition=None):
    """A request as AWS authorizes the call the grant records: the item's partition key (a family and an id)
    in `dynamodb:LeadingKeys`, the owner as the KMS encryption context."""
    context = {}
    if grant.action.startswith("dynamodb:") and partition is not None:
        context["dynamodb:LeadingKeys"] = [f"{partition}ada"]
    if grant.context:
        context["kms:EncryptionContextKeys"] = list(grant.context)
        context.update({f"kms:EncryptionContext:{k}": "ada" for k in grant.context})
    return Request(grant.action, arns[grant.resource], context)


@pulumi.runtime.test
def test_every_recorded_call_is_allowed_by_its_functions_policy():
    """Each use infrastructure/footprint.json records (the test suites' calls, function by function) is
    evaluated against the policy the program built for that function, by IAM's documented rules (tests/iam.py):
    none may be denied."""
    def check():
        arns, all_policies = resource_arns(), policies()
        assert set(FOOTPRINT) <= set(all_policies)
        for function, grants in FOOTPRINT.items():
            for grant in grants:
                for partition in grant.partitions if grant.partitions is not None else (None,):
                    request = requests_for(grant, arns, partition)
                    assert allowed(all_policies[function], request), (function, request)
    return after_deployment(check)


@pulumi.runtime.test
def test_a_function_may_do_nothing_its_footprint_lacks():
    """The converse: every table action on every partition family, and every KMS, Secrets Manager and bus
    action, is denied unless the function's footprint records it (so a grant is no wider than the calls)."""
    def check():
        arns, all_policies = resource_arns(), policies()
        families = sorted({p for grants in FOOTPRINT.values() for g in grants for p in g.partitions or ()}
                          | {"NOBODY#"})
        table_actions = sorted(WRITE_ACTIONS | {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan"})
        for function, statements in all_policies.items():
            grants = FOOTPRINT.get(function, [])
            recorded = {(g.action, p) for g in grants if g.action.startswith("dynamodb:") and g.resource == "table"
                        for p in (g.partitions if g.partitions is not None else families)}
            for action in table_actions:
                for family in families:
                    request = Request(action, arns["table"], {"dynamodb:LeadingKeys": [f"{family}ada"]})
                    assert allowed(statements, request) == ((action, family) in recorded), (function, request)
            others = {(g.action, g.resource) for g in grants if not g.action.startswith("dynamodb:")}
            for action, resource in [("kms:Decrypt", "data-keys"), ("kms:GenerateDataKey", "data-keys"),
                                     ("kms:Encrypt", "data-keys"), ("secretsmanager:GetSecretValue", "auth-secret"),
                                     ("events:PutEvents", "bus")]:
                context = {"kms:EncryptionContextKeys": ["owner"], "kms:EncryptionContext:owner": "ada"}
                request = Request(action, arns[resource], context)
                assert allowed(statements, request) == ((action, resource) in others), (function, request)
    return after_deployment(check)


@pulumi.runtime.test
def test_a_kms_key_wraps_data_keys_and_the_functions_that_use_it_name_it():
    def check():
        key = dict(declared("aws:kms/key:Key"))["data-keys"]
        assert key["enable_key_rotation"] is True and key["deletion_window_in_days"] == 30
        functions = dict(declared("aws:lambda/function:Function"))
        users = {name for name, grants in FOOTPRINT.items() if any(g.action.startswith("kms:") for g in grants)}
        # Whoever reads events opens their fields, whoever writes them seals: never the publisher, analytics,
        # login or the authorizer, which see sealed events or none.
        assert not users & {"publish-events", "analytics", "login", "authorizer", "healthz"}, users
        assert {"create-user", "projector", "replay", "get-debt"} <= users, users
        for name in users:
            assert variable(functions[name], "KMS_KEY_ID") == key["arn"], name
    return after_deployment(check)


@pulumi.runtime.test
def test_the_data_key_is_used_only_with_its_owner_as_encryption_context():
    """`ForAllValues` on `kms:EncryptionContextKeys` alone also admits a call with no encryption context at all
    (an absent key satisfies it); the `Null` condition on the owner's key refuses that one."""
    def check():
        key = dict(declared("aws:kms/key:Key"))["data-keys"]
        owned = {"kms:EncryptionContextKeys": ["owner"], "kms:EncryptionContext:owner": "ada"}
        for function, statements in policies().items():
            for action in ("kms:Decrypt", "kms:GenerateDataKey"):
                if allowed(statements, Request(action, key["arn"], owned)):
                    assert not allowed(statements, Request(action, key["arn"])), (function, action)
                    extra = dict(owned, **{"kms:EncryptionContextKeys": ["owner", "purpose"]})
                    assert not allowed(statements, Request(action, key["arn"], extra)), (function, action)
    return after_deployment(check)


@pulumi.runtime.test
def test_the_projector_reads_only_event_items_and_reports_failures():
    def check():
        mapping = dict(declared("aws:lambda/eventSourceMapping:EventSourceMapping"))["projector-stream"]
        assert mapping["event_source_arn"].endswith("/stream/2026")
        assert mapping["function_name"] == f"{PREFIX}-projector"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["bisect_batch_on_function_error"] is True
        assert 0 < mapping["maximum_retry_attempts"] <= 10
        assert mapping["maximum_record_age_in_seconds"] > 0
        # Ten batches of a shard at once: one at a time fell behind the writes (issue 18).
        assert mapping["parallelization_factor"] == 10
        assert mapping["destination_config"]["on_failure"]["destination_arn"].endswith("projector-failures")
        [pattern] = [json.loads(f["pattern"]) for f in mapping["filter_criteria"]["filters"]]
        assert pattern == EVENT_ITEMS_ONLY
    return after_deployment(check)


@pulumi.runtime.test
def test_the_publisher_reads_event_items_and_puts_them_on_the_bus():
    def check():
        mapping = dict(declared("aws:lambda/eventSourceMapping:EventSourceMapping"))["publish-stream"]
        [(_, bus)] = declared("aws:cloudwatch/eventBus:EventBus")
        assert bus["name"] == f"{PREFIX}-events"
        assert mapping["event_source_arn"].endswith(STREAM_ARN_SUFFIX)
        assert mapping["function_name"] == f"{PREFIX}-publish-events"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["bisect_batch_on_function_error"] is True
        # One batch of a shard at a time: the bus gets each aggregate's events in commit order.
        assert mapping["parallelization_factor"] == 1
        assert mapping["destination_config"]["on_failure"]["destination_arn"].endswith("publish-failures")
        [pattern] = [json.loads(f["pattern"]) for f in mapping["filter_criteria"]["filters"]]
        assert pattern == EVENT_ITEMS_ONLY
        publisher = dict(declared("aws:lambda/function:Function"))["publish-events"]
        assert variable(publisher, "EVENT_BUS_NAME") == bus["name"]
        granted = {a: r for s in policies()["publish-events"] for a in s["Action"] for r in s["Resource"]}
        assert granted["events:PutEvents"].endswith(f"/{bus['name']}")
        assert granted["dynamodb:GetRecords"].endswith(STREAM_ARN_SUFFIX)
        assert not declared("aws:pipes/pipe:Pipe"), "no Pipe: the publisher sets detail-type itself"
    return after_deployment(check)


@pulumi.runtime.test
def test_analytics_subscribes_to_the_bus_with_retries_and_a_dead_letter_queue():
    def check():
        rule = dict(declared("aws:cloudwatch/eventRule:EventRule"))["analytics-rule"]
        assert rule["event_bus_name"] == f"{PREFIX}-events"
        # Analytics hears every event type the contract has (docs/schemas, generated from the Rust types).
        pattern = json.loads(rule["event_pattern"])
        assert pattern["source"] == [EVENT_SOURCE]
        assert set(pattern.get("detail-type", CONTRACT_EVENT_TYPES)) == set(CONTRACT_EVENT_TYPES), pattern
        target = dict(declared("aws:cloudwatch/eventTarget:EventTarget"))["analytics-target"]
        assert target["arn"].endswith(f"/{PREFIX}-analytics") and target["event_bus_name"] == f"{PREFIX}-events"
        assert target["retry_policy"]["maximum_retry_attempts"] > 0
        assert target["retry_policy"]["maximum_event_age_in_seconds"] > 0
        assert target["dead_letter_config"]["arn"].endswith("/analytics-dead-letters")
        permissions = [i for _, i in declared("aws:lambda/permission:Permission")
                       if i["function"] == f"{PREFIX}-analytics"]
        assert [p["principal"] for p in permissions] == ["events.amazonaws.com"]
        invoke_config = dict(declared("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"))
        assert invoke_config["analytics-async"]["destination_config"]["on_failure"]["destination"].endswith(
            "/analytics-dead-letters")
        queue_policy = dict(declared("aws:sqs/queuePolicy:QueuePolicy"))["analytics-dead-letters-policy"]
        statement = json.loads(queue_policy["policy"])["Statement"][0]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    return after_deployment(check)


@pulumi.runtime.test
def test_a_replay_jobs_continuation_reaches_the_replay_function():
    rust = (Path(REPO) / "projections/src/replay_job.rs").read_text()
    [source], [detail_type] = REPLAY_CONTINUATION["source"], REPLAY_CONTINUATION["detail-type"]
    assert f'CONTINUATION_SOURCE: &str = "{source}";' in rust
    assert f'CONTINUATION_DETAIL_TYPE: &str = "{detail_type}";' in rust

    def check():
        rules = dict(declared("aws:cloudwatch/eventRule:EventRule"))
        assert json.loads(rules["replay-continuation-rule"]["event_pattern"]) == REPLAY_CONTINUATION
        # The analytics rule does not take it (another source).
        assert json.loads(rules["analytics-rule"]["event_pattern"]) == {"source": [EVENT_SOURCE]}
        targets = dict(declared("aws:cloudwatch/eventTarget:EventTarget"))
        assert targets["replay-continuation-target"]["arn"].endswith(f"{PREFIX}-replay")
        permissions = dict(declared("aws:lambda/permission:Permission"))
        assert permissions["replay-invoke"]["principal"] == "events.amazonaws.com"
        functions = dict(declared("aws:lambda/function:Function"))
        assert variable(functions["replay"], "EVENT_BUS_NAME") == f"{PREFIX}-events"
    return after_deployment(check)


@pulumi.runtime.test
def test_the_notice_sweep_runs_every_15_minutes_through_a_role_that_may_invoke_it_only():
    def check():
        [(_, schedule)] = declared("aws:scheduler/schedule:Schedule")
        assert schedule["schedule_expression"] == "rate(15 minutes)"
        assert schedule["flexible_time_window"] == {"mode": "OFF"}
        assert schedule["target"]["arn"].endswith(f":Function/{PREFIX}-notice-sweep")
        assert schedule["target"]["retry_policy"]["maximum_event_age_in_seconds"] <= 900
        roles = dict(declared("aws:iam/role:Role"))
        role = roles["notice-sweep-scheduler"]
        assert schedule["target"]["role_arn"].endswith(f":Role/{PREFIX}-notice-sweep-scheduler")
        [trust] = json.loads(role["assume_role_policy"])["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        policies = dict(declared("aws:iam/rolePolicy:RolePolicy"))
        [grant] = json.loads(policies["notice-sweep-scheduler-invoke"]["policy"])["Statement"]
        assert grant["Action"] == ["lambda:InvokeFunction"]
        assert [r.split(":")[-1] for r in grant["Resource"]] == [f"Function/{PREFIX}-notice-sweep"]
        functions = dict(declared("aws:lambda/function:Function"))
        assert "KMS_KEY_ID" not in functions["notice-sweep"]["environment"]["variables"], "it opens nothing sealed"
    return after_deployment(check)


@pulumi.runtime.test
def test_notices_are_emailed_through_ses_from_the_configured_sender_only():
    assert Settings().mail_from is None, "no email unless a stack says who sends it"

    def check():
        [(_, identity)] = declared("aws:sesv2/emailIdentity:EmailIdentity")
        assert identity["email_identity"] == "notices@example.com"
        rules = dict(declared("aws:cloudwatch/eventRule:EventRule"))
        assert json.loads(rules["notice-email-rule"]["event_pattern"]) == {
            "source": [EVENT_SOURCE], "detail-type": ["PaymentDueSoon", "PaymentMissed", "PromoEndingSoon"]}
        targets = dict(declared("aws:cloudwatch/eventTarget:EventTarget"))
        assert targets["notice-email-target"]["arn"].endswith(f"{PREFIX}-notice-email")
        assert targets["notice-email-target"]["dead_letter_config"]["arn"].endswith("notice-email-dead-letters")
        functions = dict(declared("aws:lambda/function:Function"))
        assert variable(functions["notice-email"], "MAIL_FROM") == "notices@example.com"
        assert variable(functions["notice-email"], "API_URL").startswith("https://")
        policies = {name: json.loads(inputs["policy"]) for name, inputs in declared("aws:iam/rolePolicy:RolePolicy")
                    if name.startswith("notice-email")}
        grants = [st for doc in policies.values() for st in doc["Statement"] if "ses:SendEmail" in st["Action"]]
        assert grants and all(st["Resource"] == [grants[0]["Resource"][0]] for st in grants)
        # The mocks name an ARN after the resource (`mail-from`), not after the address.
        assert grants[0]["Resource"][0] == resource_arns()["mail-identity"]
    return after_deployment(check)


@pulumi.runtime.test
def test_the_table_stream_has_exactly_two_readers():
    def check():
        readers = [(typ, name) for typ, name, inputs in MOCKS.resources
                   for key in ("event_source_arn", "source")
                   if isinstance(inputs.get(key), str) and inputs[key].endswith(STREAM_ARN_SUFFIX)]
        assert sorted(readers) == [("aws:lambda/eventSourceMapping:EventSourceMapping", "projector-stream"),
                                   ("aws:lambda/eventSourceMapping:EventSourceMapping", "publish-stream")]
    return after_deployment(check)


@pulumi.runtime.test
def test_functions_run_rust_zips_with_their_own_logs_and_alarms():
    def check():
        functions = dict(declared("aws:lambda/function:Function"))
        for name, fn in functions.items():
            assert fn["name"] == f"{PREFIX}-{name}"
            assert fn["runtime"] == "provided.al2023" and fn["handler"] == "bootstrap"
            assert fn["architectures"] == ["arm64"]
            assert fn["code"].path.endswith(f"target/lambda/{name}/bootstrap.zip")
        logs = {inputs["name"]: inputs for _, inputs in declared("aws:cloudwatch/logGroup:LogGroup")}
        assert all(logs[f"/aws/lambda/{PREFIX}-{name}"]["retention_in_days"] == 14 for name in functions)
        alarms = {name for name, _ in declared("aws:cloudwatch/metricAlarm:MetricAlarm")}
        assert {"api-5xx", "projector-iterator-age", "publisher-iterator-age", "projector-failures-queued",
                "publish-failures-queued", "analytics-dead-letters-queued"} <= alarms
        assert all(f"{name}-errors" in alarms and f"{name}-throttles" in alarms for name in functions)
    return after_deployment(check)


@pulumi.runtime.test
def test_lambda_lets_the_metric_lines_through():
    """Lambda's log-level filter drops JSON lines below a function's application log level and takes a line
    without a level as INFO (its log-level filtering page): every metric line states the level the functions
    let through, so raising it would lose every metric."""
    rust = (Path(REPO) / "lambda-support/src/metrics.rs").read_text()
    assert f'pub const METRIC_LEVEL: &str = "{APPLICATION_LOG_LEVEL}";' in rust

    def check():
        for name, fn in declared("aws:lambda/function:Function"):
            logging = fn["logging_config"]
            assert (logging["log_format"], logging["application_log_level"]) == ("JSON", APPLICATION_LOG_LEVEL), name
    return after_deployment(check)


def test_every_lambda_binary_has_a_function_and_back():
    binaries = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, "functions", "*", "src", "bin", "*.rs"))}
    assert binaries == set(STACK.functions)


def test_the_routes_are_docs_openapi_operations_each_with_its_function():
    """The program has no route list of its own: every operation of docs/openapi.json becomes a route to the
    function its `x-function` names (the Rust route table is held to the same document by `api`'s tests)."""
    spec = api_spec.load_spec()
    operations = {(method.upper(), path, operation["x-function"], bool(operation.get("security", spec["security"])))
                  for path, item in spec["paths"].items() for method, operation in item.items()}
    assert operations == {(r.method, r.path, r.function, r.protected) for r in ROUTES}
    http_functions = set(STACK.functions) - EVENT_FUNCTIONS
    assert http_functions == {r.function for r in ROUTES}


def test_an_operation_without_a_function_or_a_function_without_an_operation_fails():
    spec = api_spec.load_spec()
    http_functions = set(STACK.functions) - EVENT_FUNCTIONS
    api_spec.check_functions(api_spec.routes(spec), http_functions)

    unnamed = copy.deepcopy(spec)
    del unnamed["paths"]["/debts"]["post"]["x-function"]
    with pytest.raises(ValueError, match=r"without a function \(x-function\): POST /debts"):
        api_spec.routes(unnamed)

    unknown = copy.deepcopy(spec)
    unknown["paths"]["/debts"]["post"]["x-function"] = "create-debt-v2"
    with pytest.raises(ValueError, match="functions the stack does not define: \\['create-debt-v2'\\]"):
        api_spec.check_functions(api_spec.routes(unknown), http_functions)

    orphaned = copy.deepcopy(spec)
    del orphaned["paths"]["/debts/{debt_id}/schedule"]
    with pytest.raises(ValueError, match="serve no operation: \\['get-debt-schedule'\\]"):
        api_spec.check_functions(api_spec.routes(orphaned), http_functions)


@pulumi.runtime.test
def test_named_resources_carry_the_project_and_stack():
    def check():
        named = [(typ, inputs["name"]) for typ, _, inputs in MOCKS.resources
                 if typ in {"aws:lambda/function:Function", "aws:cloudwatch/eventBus:EventBus",
                            "aws:secretsmanager/secret:Secret", "aws:sns/topic:Topic",
                            "aws:cloudwatch/metricAlarm:MetricAlarm"}]
        assert len(named) > 40
        assert all(name.startswith(PREFIX) for _, name in named), [n for n in named if not n[1].startswith(PREFIX)]
        logs = [inputs["name"] for _, inputs in declared("aws:cloudwatch/logGroup:LogGroup")]
        assert all(PREFIX in name for name in logs), logs
    return after_deployment(check)


@pulumi.runtime.test
def test_the_secret_is_per_stack_and_a_destroyed_stack_can_be_deployed_again():
    def check():
        [(_, secret)] = declared("aws:secretsmanager/secret:Secret")
        assert secret["name"] == f"{PREFIX}/auth"
        assert secret["recovery_window_in_days"] == 0
        functions = dict(declared("aws:lambda/function:Function"))
        for name in ("login", "authorizer"):
            assert variable(functions[name], "AUTH_SECRET_NAME") == secret["name"]
    return after_deployment(check)


@pulumi.runtime.test
def test_the_password_hashing_routes_are_throttled_and_have_reserved_concurrency():
    def check():
        [(_, stage)] = declared("aws:apigatewayv2/stage:Stage")
        default = stage["default_route_settings"]
        assert default["throttling_rate_limit"] > 0 and default["throttling_burst_limit"] > 0
        tight = {r["route_key"]: r for r in stage["route_settings"]}
        # The hashing routes, and the public calendar feed with its own (test below).
        assert set(tight) == {"POST /login", "POST /users", "DELETE /users/{username}", "GET /calendar/{feed}",
                              "GET /unsubscribe/{token}", "POST /unsubscribe/{token}"}
        for route in tight.values():
            assert route["throttling_rate_limit"] < default["throttling_rate_limit"]
            assert route["throttling_burst_limit"] < default["throttling_burst_limit"]
        # Nothing reserved by default: Lambda keeps 100 of an account's concurrency unreserved, and a new
        # account's quota is often 10 or 50, so any reservation would fail the first deploy (D2).
        functions = dict(declared("aws:lambda/function:Function"))
        assert all(fn.get("reserved_concurrent_executions") is None for fn in functions.values())
    return after_deployment(check)


def test_a_reservation_says_the_account_quota_it_needs():
    assert Settings().reserved_concurrency == {} and Settings().account_concurrency_needed == 100
    reserving = Settings(hashing_concurrency=10)
    assert reserving.reserved_concurrency == {"login": 10, "create-user": 10}
    assert reserving.account_concurrency_needed == 120


@pulumi.runtime.test
def test_every_alarm_notifies_the_topic_and_a_burst_is_enough():
    def check():
        [(_, topic)] = declared("aws:sns/topic:Topic")
        assert topic["name"] == f"{PREFIX}-alarms"
        alarms = declared("aws:cloudwatch/metricAlarm:MetricAlarm")
        for name, alarm in alarms:
            assert alarm["alarm_actions"] == [f"arn:aws:mock:us-east-1:000000000000:Topic/{PREFIX}-alarms"], name
            assert alarm["datapoints_to_alarm"] == 1 and alarm["evaluation_periods"] >= 1, name
        api_5xx = dict(alarms)["api-5xx"]
        assert (api_5xx["namespace"], api_5xx["metric_name"]) == ("AWS/ApiGateway", "5xx")
        assert not declared("aws:sns/topicSubscription:TopicSubscription"), "email only when alarmEmail is set"
    return after_deployment(check)


@pulumi.runtime.test
def test_the_public_calendar_feed_has_no_authorizer_and_its_own_throttle():
    def check():
        [(_, stage)] = declared("aws:apigatewayv2/stage:Stage")
        settings = {s["route_key"]: s for s in stage["route_settings"]}
        calendar = settings["GET /calendar/{feed}"]
        assert (calendar["throttling_rate_limit"], calendar["throttling_burst_limit"]) == (20, 40)
        assert calendar["throttling_rate_limit"] < stage["default_route_settings"]["throttling_rate_limit"]
        routes = {inputs["route_key"]: inputs for _, inputs in declared("aws:apigatewayv2/route:Route")}
        assert routes["GET /calendar/{feed}"]["authorization_type"] == "NONE"
    return after_deployment(check)


@pulumi.runtime.test
def test_the_stage_writes_json_access_logs():
    def check():
        [(_, stage)] = declared("aws:apigatewayv2/stage:Stage")
        logs = {name: inputs for name, inputs in declared("aws:cloudwatch/logGroup:LogGroup")}
        access = logs["api-access-logs"]
        assert access["retention_in_days"] == 14
        settings = stage["access_log_settings"]
        assert settings["destination_arn"].endswith(access["name"])
        fields = json.loads(settings["format"])
        assert {"requestId", "routeKey", "status", "responseLatency", "integrationError", "sourceIp"} <= set(fields)
    return after_deployment(check)


# The dashboard body as "Dashboard Body Structure and Syntax" (Amazon CloudWatch User Guide) documents it:
# `widgets` (required) and a few top-level settings; each widget a type, a place on the 24-column grid and
# its properties; a metric widget's properties must name `metrics` and `region`. PutDashboard refuses a body
# that breaks it ("Should have required property 'region'"), failing the whole deployment.
DASHBOARD_TOP_LEVEL = {"widgets", "start", "end", "periodOverride", "variables"}
WIDGET_FIELDS = {"type", "x", "y", "width", "height", "properties"}
WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer", "custom"}
METRIC_WIDGET_PROPERTIES = {"accountId", "annotations", "liveData", "legend", "metrics", "period", "region",
                            "stat", "title", "view", "stacked", "yAxis", "setPeriodToTimeRange", "sparkline",
                            "trend", "labels", "table", "singleValueFullPrecision", "start", "end", "timezone"}
METRIC_WIDGET_REQUIRED = {"metrics", "region"}


def dashboard_body_problems(body):
    """What in `body` (parsed) breaks the documented structure; empty when nothing does."""
    problems = [f"top-level {key!r} is not a dashboard setting" for key in set(body) - DASHBOARD_TOP_LEVEL]
    if not isinstance(body.get("widgets"), list):
        return problems + ["no widgets array"]
    for number, widget in enumerate(body["widgets"]):
        problems += [f"widget {number}: unknown field {key!r}" for key in set(widget) - WIDGET_FIELDS]
        if widget.get("type") not in WIDGET_TYPES:
            problems.append(f"widget {number}: type {widget.get('type')!r}")
        if not 1 <= widget.get("width", 6) <= 24 or widget.get("x", 0) + widget.get("width", 6) > 24:
            problems.append(f"widget {number}: off the 24-column grid")
        if widget.get("type") == "metric":
            properties = widget.get("properties", {})
            problems += [f"widget {number}: metric widget without {key!r}"
                         for key in sorted(METRIC_WIDGET_REQUIRED - set(properties))]
            problems += [f"widget {number}: {key!r} is not a metric widget property"
                         for key in sorted(set(properties) - METRIC_WIDGET_PROPERTIES)]
            if not all(isinstance(m, list) for m in properties.get("metrics", [])):
                problems.append(f"widget {number}: each metric is an array")
    return problems


def test_the_body_check_finds_what_put_dashboard_refuses():
    valid = {"start": "-PT3H", "widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                                            "properties": {"metrics": [["AWS/Lambda", "Errors"]],
                                                           "region": "eu-west-1"}}]}
    assert dashboard_body_problems(valid) == []
    region_on_top = copy.deepcopy(valid)
    region_on_top["region"] = region_on_top["widgets"][0]["properties"].pop("region")
    assert dashboard_body_problems(region_on_top) == ["top-level 'region' is not a dashboard setting",
                                                      "widget 0: metric widget without 'region'"]


@pulumi.runtime.test
def test_the_dashboard_body_has_the_documented_structure():
    def check():
        [(_, dashboard)] = declared("aws:cloudwatch/dashboard:Dashboard")
        assert dashboard_body_problems(json.loads(dashboard["dashboard_body"])) == []
    return after_deployment(check)


@pulumi.runtime.test
def test_the_dashboard_shows_the_api_the_functions_and_the_custom_metrics():
    def check():
        [(_, dashboard)] = declared("aws:cloudwatch/dashboard:Dashboard")
        assert dashboard["dashboard_name"] == PREFIX
        body = json.loads(dashboard["dashboard_body"])
        metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
        namespaces = {m[0] for m in metrics}
        assert {"AWS/ApiGateway", "AWS/Lambda", "Debts"} <= namespaces
        names = {m[1] for m in metrics if m[0] == "Debts"}
        assert {"Accepted", "ConcurrencyConflicts", "ProjectionLag", "EventsPublished", "EntriesRefused",
                "EventsCounted", "EventsRedelivered"} <= names
        # The Rust side emits under this namespace.
        with open(os.path.join(REPO, "lambda-support", "src", "metrics.rs")) as f:
            assert 'NAMESPACE: &str = "Debts"' in f.read()
    return after_deployment(check)


@pulumi.runtime.test
def test_the_operations_doc_counts_what_the_program_creates():
    """docs/operations.md prices the fixed monthly costs by what the program creates: its counts hold."""
    text = (Path(REPO) / "docs/operations.md").read_text()
    table = text.split("<!-- fixed-costs -->")[1].split("<!-- /fixed-costs -->")[0]

    def check():
        alarms = declared("aws:cloudwatch/metricAlarm:MetricAlarm")
        functions = declared("aws:lambda/function:Function")
        per_stack = len(alarms) - 2 * len(functions)
        assert f"| {len(alarms)} alarms ({per_stack} for the API" in table, table
        assert f"each of the {len(functions)} functions), $0.10 each | ${len(alarms) * 0.10:.2f} |" in table
        assert len(declared("aws:cloudwatch/dashboard:Dashboard")) == 1 and "| 1 dashboard," in table
        assert len(declared("aws:kms/key:Key")) == 2 and "| 2 keys (users' data keys; the lake)" in table
        assert len(declared("aws:secretsmanager/secret:Secret")) == 1 and "| 1 secret |" in table
        objects = len(declared("aws:s3/bucketObjectv2:BucketObjectv2"))
        buckets = dict(declared("aws:s3/bucket:Bucket"))
        assert set(buckets) == {"web-files", "lake-files"}
        assert f"| 1 bucket of the client's {objects} objects" in table
        queries = len(declared("aws:athena/namedQuery:NamedQuery"))
        assert len(declared("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")) == 1
        assert f"1 Firehose stream, 1 Glue table, 1 Athena workgroup and {queries} named queries" in table
        assert len(declared("aws:cloudfront/distribution:Distribution")) == 1 and "and 1 distribution" in table
    return after_deployment(check)
