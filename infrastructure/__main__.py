"""The debts stack on AWS: see components/stack.py. Configuration (Pulumi.<stack>.yaml, every key optional):
`architecture` (arm64 or x86_64; must match `make package ARCH=...`), `deletionProtection`,
`passwordIterations`, `secretName` (default `debts-<stack>/auth`), `secretRecoveryDays` (default 0: deleted at
once on destroy), `apiRateLimit`/`apiBurstLimit` (every route), `hashingRateLimit`/`hashingBurstLimit` (POST
/login and POST /users), `hashingConcurrency` (reserved for login and create-user each; unset or `none` leaves
them unreserved; N needs an account concurrency quota of 100 + 2N), `alarmEmail` (subscribed to the alarm
topic), `mailFrom` (the sender of notice emails, an address or domain SES verifies; unset, no email is sent),
`lakeQueryLimitGb` (the most one Athena query over the lake scans; default 10)."""

import pulumi

from components.rust_lambda import check_zip_architectures
from components.stack import DebtsStack, Settings

config = pulumi.Config()
defaults = Settings()


def hashing_concurrency():
    value = config.get("hashingConcurrency")
    if value is None:
        return defaults.hashing_concurrency
    return None if value.lower() == "none" else int(value)


stack = DebtsStack(Settings(
    prefix=f"{pulumi.get_project()}-{pulumi.get_stack()}",
    architecture=config.get("architecture") or defaults.architecture,
    deletion_protection=config.get_bool("deletionProtection") or False,
    password_iterations=config.get_int("passwordIterations") or defaults.password_iterations,
    secret_name=config.get("secretName"),
    secret_recovery_days=config.get_int("secretRecoveryDays") or defaults.secret_recovery_days,
    api_rate_limit=config.get_float("apiRateLimit") or defaults.api_rate_limit,
    api_burst_limit=config.get_int("apiBurstLimit") or defaults.api_burst_limit,
    hashing_rate_limit=config.get_float("hashingRateLimit") or defaults.hashing_rate_limit,
    hashing_burst_limit=config.get_int("hashingBurstLimit") or defaults.hashing_burst_limit,
    hashing_concurrency=hashing_concurrency(),
    alarm_email=config.get("alarmEmail"),
    mail_from=config.get("mailFrom"),
    lake_query_limit_bytes=(config.get_int("lakeQueryLimitGb") or 0) * 1024 ** 3 or defaults.lake_query_limit_bytes,
))

if stack.settings.reserved_concurrency:
    pulumi.log.info(f"hashingConcurrency reserves {sum(stack.settings.reserved_concurrency.values())}: the "
                    f"account's Lambda concurrency quota must be at least {stack.settings.account_concurrency_needed} "
                    "(Lambda keeps 100 unreserved), or creating login and create-user fails")

check_zip_architectures([c.binary for c in stack.functions.values()], stack.settings.architecture)

pulumi.export("api_url", stack.api.api_endpoint)
pulumi.export("web_url", stack.web.url)
pulumi.export("web_bucket", stack.web.bucket.id)
pulumi.export("table_name", stack.table.name)
pulumi.export("table_stream_arn", stack.table.stream_arn)
pulumi.export("failure_queue_url", stack.failures.url)
pulumi.export("function_names", {name: c.function.name for name, c in stack.functions.items()})
pulumi.export("event_bus_name", stack.bus.name)
pulumi.export("publish_failure_queue_url", stack.publish_failures.url)
pulumi.export("analytics_dead_letter_queue_url", stack.analytics_dlq.url)
pulumi.export("alarm_topic_arn", stack.alarm_topic.arn)
pulumi.export("secret_name", stack.secret.name)
pulumi.export("lake_bucket", stack.lake.bucket.bucket)
pulumi.export("lake_stream", stack.lake.stream.name)
pulumi.export("lake_database", stack.lake.database.name)
pulumi.export("lake_workgroup", stack.lake.workgroup.name)
pulumi.export("lake_analyst_policy_arn", stack.lake.analyst_policy.arn)
