"""What `pulumi up` would create, checked offline: routes and their protection, least privilege, the
projector's stream mapping, alarms, and one function per Lambda binary of the Cargo workspace."""

import glob
import json
import os

import pulumi

from conftest import MOCKS
from components.stack import ROUTES, WRITE_ACTIONS, DebtsStack

STACK = DebtsStack()
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUERY_FUNCTIONS = {"healthz", "get-user", "list-debts", "get-debt", "get-debt-history"}


def declared(typ):
    return [(name, inputs) for (t, name, inputs) in MOCKS.resources if t == typ]


def after_deployment(check):
    """Runs `check` once every resource of the stack is registered with the mocks."""
    urns = [c.function.urn for c in STACK.functions.values()] + [r.urn for r in STACK.routes.values()]
    urns += [STACK.stream_mapping.urn, STACK.stage.urn, STACK.authorizer.urn] + [a.urn for a in STACK.alarms]
    urns += [c.policy.urn for c in STACK.functions.values()]
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
    found = {}
    for name, inputs in declared("aws:iam/rolePolicy:RolePolicy"):
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
        assert pattern == {"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "EVENT#"}]}}}}
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
        assert {"projector-iterator-age", "projector-failures-queued"} <= alarms
        assert all(f"{name}-errors" in alarms and f"{name}-throttles" in alarms for name in functions)
    return after_deployment(check)


def test_every_lambda_binary_has_a_function_and_back():
    binaries = set()
    for crate in ("commands", "queries", "projections", "auth", "analytics"):
        binaries |= {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(REPO, crate, "src", "bin", "*.rs"))}
    assert binaries == set(STACK.functions)
