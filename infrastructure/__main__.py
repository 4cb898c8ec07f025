"""The debts stack. Today: the one table; the Lambda functions, HTTP API, secret and stream consumers are
added by the infrastructure issue."""

import pulumi

from components.table import debts_table

config = pulumi.Config()
table = debts_table("debts", deletion_protection=config.get_bool("deletionProtection") or False)

pulumi.export("table_name", table.name)
pulumi.export("table_stream_arn", table.stream_arn)
