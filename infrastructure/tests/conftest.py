"""Pulumi unit tests run offline: mocks stand in for the engine and the cloud (no CLI, no network). The mocks
record every resource the program declares, so tests can check what would be deployed."""

import os
import re
import sys

import pulumi

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def snake(value):
    """Provider inputs arrive in the provider's camelCase; tests read them in the SDK's snake_case."""
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake(v) for v in value]
    return value


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = dict(args.inputs)
        name = outputs.get("name") or args.name
        outputs.setdefault("name", name)
        outputs.setdefault("arn", f"arn:aws:mock:us-east-1:000000000000:{args.typ.split(':')[-1]}/{name}")
        if args.typ == "aws:lambda/function:Function":
            outputs["invoke_arn"] = f"arn:aws:apigateway:us-east-1:lambda:path/functions/{name}/invocations"
        if args.typ == "aws:dynamodb/table:Table":
            outputs["stream_arn"] = f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}/stream/2026"
        if args.typ == "aws:apigatewayv2/api:Api":
            outputs["execution_arn"] = "arn:aws:execute-api:us-east-1:000000000000:api-id"
            outputs["api_endpoint"] = "https://api-id.execute-api.us-east-1.amazonaws.com"
        if args.typ == "aws:s3/bucket:Bucket":
            outputs["bucket_regional_domain_name"] = f"{name}.s3.us-east-1.amazonaws.com"
            outputs["arn"] = f"arn:aws:s3:::{name}"
            outputs.setdefault("bucket", name)
        if args.typ == "aws:cloudfront/distribution:Distribution":
            outputs["domain_name"] = "d111111abcdef8.cloudfront.net"
            outputs["arn"] = f"arn:aws:cloudfront::000000000000:distribution/{args.name}-id"
        if args.typ == "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
            outputs["arn"] = f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"
        if args.typ == "aws:sqs/queue:Queue":
            outputs["url"] = f"https://sqs.us-east-1.amazonaws.com/000000000000/{name}"
        self.resources.append((args.typ, args.name, snake(outputs)))
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getRegion:getRegion":
            return {"name": "us-east-1", "region": "us-east-1", "id": "us-east-1"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"account_id": "000000000000", "accountId": "000000000000", "id": "000000000000",
                    "arn": "arn:aws:iam::000000000000:user/test", "user_id": "test", "userId": "test"}
        return {}


MOCKS = Mocks()
pulumi.runtime.set_mocks(MOCKS, preview=False)
