"""What `pulumi up` would create, checked offline: routes and their protection, least privilege, the table
stream's two readers (the projector's mapping and the Pipe to the bus), the analytics rule, alarms, and one
function per Lambda binary of the Cargo workspace."""

import glob
import json
import os

import pulumi

from conftest import MOCKS
from components.stack import EVENT_SOURCE, EVENT_TYPES, ROUTES, WRITE_ACTIONS, DebtsStack

STACK = DebtsStack()
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERY_FUNCTIONS = {"healthz", "get-user", "get-summary", "list-debts", "get-debt", "get-debt-history"}
STREAM_ARN_SUFFIX = "table/debts/stream/2026"
EVENT_ITEMS_ONLY = {"eventName": ["INSERT"], "dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}


def declared(typ):
    return [(name, inputs) for (t, name, inputs) in MOCKS.resources if t == typ]


def after_deployment(check):
    """Runs `check` once every resource of the stack is registered with the mocks."""
    urns = [c.function.urn for c in STACK.functions.values()] + [r.urn for r in STACK.routes.values()]
    urns += [STACK.stream_mapping.urn, STACK.stage.urn, STACK.authorizer.urn] + [a.urn for a in STACK.alarms]
    urns += [c.policy.urn for c in STACK.functions.values()]
    urns += [STACK.pipe.urn, STACK.pipe_policy.urn, STACK.analytics_rule.urn, STACK.analytics_target.urn]
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
            assert integration["integration_uri"].endswith(f"/functions/{route.function}/invocations"), route
            assert integration["payload_format_version"] == "2.0"
            if route.protected:
                assert declared_route["authorization_type"] == "CUSTOM", route
                assert declared_route["authorizer_id"] == "bearer-id", route
            else:
                assert declared_route["authorization_type"] == "NONE", route
                assert not declared_route.get("authorizer_id"), route
        public = {f"{r.method} {r.path}" for r in ROUTES if not r.protected}
        assert public == {"GET /healthz", "POST /login", "POST /users"}
    return after_deployment(check)


@pulumi.runtime.test
def test_the_authorizer_uses_simple_responses_on_the_authorization_header():
    def check():
        [(_, authorizer)] = declared("aws:apigatewayv2/authorizer:Authorizer")
        assert authorizer["authorizer_type"] == "REQUEST"
        assert authorizer["enable_simple_responses"] is True
        assert authorizer["authorizer_payload_format_version"] == "2.0"
        assert authorizer["identity_sources"] == ["$request.header.Authorization"]
        assert authorizer["authorizer_result_ttl_in_seconds"] > 0
        assert authorizer["authorizer_uri"].endswith("/functions/authorizer/invocations")
        [(_, api)] = declared("aws:apigatewayv2/api:Api")
        cors = api["cors_configuration"]
        assert "authorization" in cors["allow_headers"] and "etag" in cors["expose_headers"]
    return after_deployment(check)


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
                assert "dynamodb:Scan" not in actions and "dynamodb:DeleteItem" not in actions, function
            if function in {"authorizer"}:
                assert not any(a.startswith("dynamodb:") for a in actions), function
            reads_secret = "secretsmanager:GetSecretValue" in actions
            assert reads_secret == (function in {"login", "authorizer"}), function
        # The Pipe's enrichment touches nothing; analytics and the summary only their own partitions.
        assert not any(a.startswith("dynamodb:") for s in all_policies["publish-events"] for a in s["Action"])
        for function in ("analytics", "get-summary"):
            table_statements = [s for s in all_policies[function] if any(a.startswith("dynamodb:") for a in s["Action"])]
            for statement in table_statements:
                leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert not any(p.startswith(("USER#", "DEBT#", "EMAIL#")) for p in leading), (function, leading)
    return after_deployment(check)


@pulumi.runtime.test
def test_the_projector_reads_only_event_items_and_reports_failures():
    def check():
        [(_, mapping)] = declared("aws:lambda/eventSourceMapping:EventSourceMapping")
        assert mapping["event_source_arn"].endswith("/stream/2026")
        assert mapping["function_name"] == "projector"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["bisect_batch_on_function_error"] is True
        assert 0 < mapping["maximum_retry_attempts"] <= 10
        assert mapping["maximum_record_age_in_seconds"] > 0
        assert mapping["destination_config"]["on_failure"]["destination_arn"].endswith("projector-failures")
        [pattern] = [json.loads(f["pattern"]) for f in mapping["filter_criteria"]["filters"]]
        assert pattern == EVENT_ITEMS_ONLY
    return after_deployment(check)


@pulumi.runtime.test
def test_the_pipe_publishes_envelopes_of_event_items_to_the_bus():
    def check():
        [(_, pipe)] = declared("aws:pipes/pipe:Pipe")
        [(_, bus)] = declared("aws:cloudwatch/eventBus:EventBus")
        assert pipe["source"].endswith(STREAM_ARN_SUFFIX)
        source = pipe["source_parameters"]
        [pattern] = [json.loads(f["pattern"]) for f in source["filter_criteria"]["filters"]]
        assert pattern == EVENT_ITEMS_ONLY
        stream = source["dynamodb_stream_parameters"]
        assert stream["dead_letter_config"]["arn"].endswith("/pipe-failures")
        assert 0 < stream["maximum_retry_attempts"] <= 10 and stream["maximum_record_age_in_seconds"] > 0
        assert stream["on_partial_batch_item_failure"] == "AUTOMATIC_BISECT"
        assert pipe["enrichment"].endswith("/publish-events")
        assert pipe["target"].endswith(f"/{bus['name']}")
        params = pipe["target_parameters"]["eventbridge_event_bus_parameters"]
        assert params == {"detail_type": "$.event_type", "source": EVENT_SOURCE, "time": "$.occurred_at"}
        [role_policy] = [json.loads(i["policy"])["Statement"] for n, i in declared("aws:iam/rolePolicy:RolePolicy")
                         if n == "events-pipe-policy"]
        granted = {a: r for s in role_policy for a in s["Action"] for r in s["Resource"]}
        assert granted["events:PutEvents"].endswith(f"/{bus['name']}")
        assert granted["lambda:InvokeFunction"].endswith("/publish-events")
        assert granted["dynamodb:GetRecords"].endswith(STREAM_ARN_SUFFIX)
        assert granted["sqs:SendMessage"].endswith("/pipe-failures")
        assert not any("PutItem" in a or "Query" in a for a in granted)
    return after_deployment(check)


@pulumi.runtime.test
def test_analytics_subscribes_to_the_bus_with_retries_and_a_dead_letter_queue():
    def check():
        [(_, rule)] = declared("aws:cloudwatch/eventRule:EventRule")
        assert rule["event_bus_name"] == "debts-events"
        assert json.loads(rule["event_pattern"]) == {"source": [EVENT_SOURCE], "detail-type": EVENT_TYPES}
        [(_, target)] = declared("aws:cloudwatch/eventTarget:EventTarget")
        assert target["arn"].endswith("/analytics") and target["event_bus_name"] == "debts-events"
        assert target["retry_policy"]["maximum_retry_attempts"] > 0
        assert target["retry_policy"]["maximum_event_age_in_seconds"] > 0
        assert target["dead_letter_config"]["arn"].endswith("/analytics-dead-letters")
        permissions = [i for _, i in declared("aws:lambda/permission:Permission") if i["function"] == "analytics"]
        assert [p["principal"] for p in permissions] == ["events.amazonaws.com"]
        [(_, invoke_config)] = declared("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
        assert invoke_config["destination_config"]["on_failure"]["destination"].endswith("/analytics-dead-letters")
        [(_, queue_policy)] = declared("aws:sqs/queuePolicy:QueuePolicy")
        statement = json.loads(queue_policy["policy"])["Statement"][0]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    return after_deployment(check)


@pulumi.runtime.test
def test_the_table_stream_has_exactly_two_readers():
    def check():
        readers = [(typ, name) for typ, name, inputs in MOCKS.resources
                   for key in ("event_source_arn", "source")
                   if isinstance(inputs.get(key), str) and inputs[key].endswith(STREAM_ARN_SUFFIX)]
        assert sorted(readers) == [("aws:lambda/eventSourceMapping:EventSourceMapping", "projector-stream"),
                                   ("aws:pipes/pipe:Pipe", "events-to-bus")]
    return after_deployment(check)


@pulumi.runtime.test
def test_functions_run_rust_zips_with_their_own_logs_and_alarms():
    def check():
        functions = dict(declared("aws:lambda/function:Function"))
        for name, fn in functions.items():
            assert fn["runtime"] == "provided.al2023" and fn["handler"] == "bootstrap"
            assert fn["architectures"] == ["arm64"]
            assert fn["code"].path.endswith(f"target/lambda/{name}/bootstrap.zip")
        logs = {inputs["name"]: inputs for _, inputs in declared("aws:cloudwatch/logGroup:LogGroup")}
        assert all(logs[f"/aws/lambda/{name}"]["retention_in_days"] == 14 for name in functions)
        alarms = {name for name, _ in declared("aws:cloudwatch/metricAlarm:MetricAlarm")}
        assert {"projector-iterator-age", "projector-failures-queued", "pipe-failures-queued",
                "analytics-dead-letters-queued"} <= alarms
        assert all(f"{name}-errors" in alarms and f"{name}-throttles" in alarms for name in functions)
    return after_deployment(check)


def test_every_lambda_binary_has_a_function_and_back():
    binaries = set()
    for crate in ("commands", "queries", "projections", "auth", "analytics"):
        binaries |= {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, crate, "src", "bin", "*.rs"))}
    assert binaries == set(STACK.functions)


def test_the_api_routes_are_the_documented_operations():
    """docs/openapi.json is also checked against the local gateway's routes (local/tests/openapi.rs), so the
    spec, the local server and AWS serve the same routes with the same protection."""
    with open(os.path.join(REPO, "docs", "openapi.json")) as spec_file:
        spec = json.load(spec_file)
    documented = {(method.upper(), path, bool(operation.get("security")))
                  for path, operations in spec["paths"].items() for method, operation in operations.items()}
    assert documented == {(r.method, r.path, r.protected) for r in ROUTES}
