"""A Rust Lambda function built by cargo-lambda: its zip, its own log group and its own least-privilege role."""

import json
import os
import zipfile

import pulumi
import pulumi_aws as aws

LOG_RETENTION_DAYS = 14
# The level Lambda lets through from the functions' own output: the level every metric line states
# (lambda_support::metrics::METRIC_LEVEL).
APPLICATION_LOG_LEVEL = "INFO"
# ELF `e_machine` values of the two Lambda architectures.
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64"}


def zip_path(binary: str) -> str:
    """Where `make package` (cargo-lambda) leaves a function's zip, seen from this directory."""
    return f"../target/lambda/{binary}/bootstrap.zip"


def zip_architecture(path: str) -> str | None:
    """The architecture the `bootstrap` in a function zip was built for (from its ELF header); None when
    there is no zip yet."""
    if not os.path.exists(path):
        return None
    with zipfile.ZipFile(path) as archive, archive.open("bootstrap") as bootstrap:
        header = bootstrap.read(20)
    if header[:4] != b"\x7fELF":
        return "not an ELF binary"
    machine = int.from_bytes(header[18:20], "little")
    return ELF_MACHINES.get(machine, f"unknown machine {machine:#x}")


def check_zip_architectures(binaries, architecture: str):
    """Refuses to deploy zips built for another architecture than the functions declare: Lambda would
    accept them and every invocation would fail with an exec format error."""
    wrong = {b: a for b in binaries if (a := zip_architecture(zip_path(b))) not in (None, architecture)}
    if wrong:
        raise ValueError(f"the stack's architecture is {architecture}, but these zips were built for another: "
                         f"{wrong}. Run `make package ARCH={architecture}` (make deploy does).")


class RustLambdaFunction(pulumi.ComponentResource):
    """One binary of the workspace as a Lambda function on `provided.al2023`.

    `statements` are the IAM policy statements the function needs beyond writing its own logs; each names
    its actions and resources explicitly (no wildcards).
    """

    def __init__(self, name: str, *, prefix: str, binary: str, architecture: str, memory: int, timeout: int,
                 environment: dict, statements: list, description: str,
                 reserved_concurrency: int | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("debts:lambda:RustLambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.binary = binary
        self.statements = statements
        # The physical name carries the project and stack, so several stacks fit one account and region.
        self.function_name = f"{prefix}-{name}"
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/lambda/{self.function_name}", retention_in_days=LOG_RETENTION_DAYS,
            opts=child)
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
            name=self.function_name,
            description=description,
            runtime="provided.al2023",
            handler="bootstrap",
            architectures=[architecture],
            code=pulumi.FileArchive(zip_path(binary)),
            memory_size=memory,
            timeout=timeout,
            role=self.role.arn,
            reserved_concurrent_executions=reserved_concurrency,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            # INFO, stated: the metric lines say `"level": "INFO"` (lambda_support::metrics) and Lambda drops
            # lines below the application log level, so a higher one would lose every metric. Verbosity is
            # RUST_LOG's, which filters in the process and never touches metric lines.
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=self.log_group.name, application_log_level=APPLICATION_LOG_LEVEL,
                system_log_level="INFO"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]))
        self.register_outputs({"function_name": self.function.name})
