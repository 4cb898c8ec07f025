"""The debts stack on AWS: see components/stack.py. Configuration (Pulumi.<stack>.yaml): `architecture`
(arm64 by default, or x86_64), `deletionProtection`, `passwordIterations`."""

import pulumi

from components.stack import DebtsStack

config = pulumi.Config()
stack = DebtsStack(
    architecture=config.get("architecture") or "arm64",
    deletion_protection=config.get_bool("deletionProtection") or False,
    password_iterations=config.get_int("passwordIterations") or 600_000,
)

pulumi.export("api_url", stack.api.api_endpoint)
pulumi.export("table_name", stack.table.name)
pulumi.export("table_stream_arn", stack.table.stream_arn)
pulumi.export("failure_queue_url", stack.failures.url)
pulumi.export("function_names", {name: c.function.name for name, c in stack.functions.items()})
pulumi.export("event_bus_name", stack.bus.name)
pulumi.export("pipe_failure_queue_url", stack.pipe_failures.url)
pulumi.export("analytics_dead_letter_queue_url", stack.analytics_dlq.url)
