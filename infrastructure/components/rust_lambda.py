"""A Rust Lambda function built by cargo-lambda: its zip, its own log group and its own least-privilege role."""

import json

import pulumi
import pulumi_aws as aws

LOG_RETENTION_DAYS = 14


class RustLambdaFunction(pulumi.ComponentResource):
    """One binary of the workspace as a Lambda function on `provided.al2023`.

    `statements` are the IAM policy statements the function needs beyond writing its own logs; each names
    its actions and resources explicitly (no wildcards).
    """

    def __init__(self, name: str, *, binary: str, architecture: str, memory: int, timeout: int,
                 environment: dict, statements: list, description: str,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("debts:lambda:RustLambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.binary = binary
        self.statements = statements
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/lambda/{name}", retention_in_days=LOG_RETENTION_DAYS, opts=child)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            }),
            opts=child)
        logs = {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [self.log_group.arn.apply(lambda arn: f"{arn}:*")]}
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [logs, *statements]}),
            opts=child)
        self.function = aws.lambda_.Function(
            name,
            name=name,
            description=description,
            runtime="provided.al2023",
            handler="bootstrap",
            architectures=[architecture],
            code=pulumi.FileArchive(f"../target/lambda/{binary}/bootstrap.zip"),
            memory_size=memory,
            timeout=timeout,
            role=self.role.arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=self.log_group.name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]))
        self.register_outputs({"function_name": self.function.name})
