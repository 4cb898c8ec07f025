#!/usr/bin/env python3
"""Measures the cold start of packaged Lambda functions with `cargo lambda watch --only-lambda-apis`, the
Runtime API emulator cargo-lambda ships: for each start, the function's bootstrap (unzipped from
target/lambda/<name>/bootstrap.zip) is spawned against the emulator and invoked at once; the invocation waits
in the emulator until the function's runtime asks for work, so "first" is spawn -> first answer. A second
invocation of the same process gives the warm figure, and init = first - warm is the part a cold start adds.
Requests are built so the handler answers without I/O (healthz's store probe fails fast against a closed port;
create-debt answers 422 before touching the store), which keeps the figure about start-up, not the network.

    scripts/cold-start.py [--runs N] [--cargo-lambda PATH] FUNCTION...
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def api_gateway_event(method, path, body=None, username=None):
    """An API Gateway HTTP API (payload 2.0) event, as the route would deliver it."""
    context = {
        "accountId": "123456789012", "apiId": "cold-start", "domainName": "localhost", "domainPrefix": "localhost",
        "requestId": "cold-start", "routeKey": f"{method} {path}", "stage": "$default",
        "time": "28/Nov/2026:00:00:00 +0000", "timeEpoch": 0,
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                 "userAgent": "cold-start"},
    }
    if username:
        context["authorizer"] = {"lambda": {"username": username}}
    event = {"version": "2.0", "routeKey": f"{method} {path}", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json"}, "requestContext": context, "isBase64Encoded": False}
    if body is not None:
        event["body"] = json.dumps(body)
    return event


def stream_record_of_event():
    """A DynamoDB stream record of a `DebtDeleted` event item, as the Pipe hands it to its enrichment."""
    image = {"PK": {"S": "DEBT#5f1d2c3b-6a7e-5d8f-9a0b-1c2d3e4f5a6b"},
             "SK": {"S": "EVENT#5f1d2c3b-6a7e-5d8f-9a0b-1c2d3e4f5a6b#0000000002"},
             "event_id": {"S": "0b9f3c2e-8d4f-4b6e-9a51-7f0c2d1e4a33"}, "event_type": {"S": "DebtDeleted"},
             "schema_version": {"N": "1"}, "aggregate_type": {"S": "debt"},
             "aggregate_id": {"S": "5f1d2c3b-6a7e-5d8f-9a0b-1c2d3e4f5a6b"}, "version": {"N": "2"},
             "occurred_at": {"S": "2026-11-28T21:04:05Z"}, "actor": {"S": "alice"},
             "correlation_id": {"S": "c3a1e2f4-5b6d-4e7f-8a9b-0c1d2e3f4a5b"}, "data": {"M": {}}}
    return {"eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": {"Keys": {"PK": image["PK"], "SK": image["SK"]},
                                                    "NewImage": image, "SequenceNumber": "1", "SizeBytes": 1,
                                                    "StreamViewType": "NEW_AND_OLD_IMAGES"}}


# One I/O-free request per function this script knows how to call.
REQUESTS = {
    "healthz": api_gateway_event("GET", "/healthz"),
    "create-debt": api_gateway_event("POST", "/debts", {"debt_name": "", "principal": "-1"}, username="cold"),
    "get-debt": api_gateway_event("GET", "/debts/not-a-uuid", username="cold"),
    "publish-events": [stream_record_of_event()],
}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"cargo lambda watch did not listen on {port} within {seconds} s")


def invoke(port, event):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/2015-03-31/functions/_/invocations",
                                     data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def one_start(bootstrap, port, event):
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt", AWS_LAMBDA_FUNCTION_NAME="_",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_REGION="us-east-1",
               TABLE_NAME="debts", AWS_ACCESS_KEY_ID="cold-start", AWS_SECRET_ACCESS_KEY="cold-start",
               AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
               AWS_MAX_ATTEMPTS="1", RUST_LOG="off")
    started = time.perf_counter()
    process = subprocess.Popen([bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = invoke(port, event)
        answered = time.perf_counter()
        invoke(port, event)
        warm = time.perf_counter() - answered
    finally:
        process.kill()
        process.wait()
    # HTTP functions answer with a status; the enrichment with its envelopes.
    return answered - started, warm, first.get("statusCode") if isinstance(first, dict) else f"{len(first)} envelope"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("functions", nargs="+", choices=sorted(REQUESTS))
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cargo-lambda", default=os.path.join(ROOT, ".tools", "venv", "bin", "cargo-lambda"))
    args = parser.parse_args()

    port = free_port()
    # watch stops when its stdin closes, so it gets a pipe that stays open until we are done.
    watch = subprocess.Popen([args.cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--invoke-address",
                              "127.0.0.1", "--invoke-port", str(port)], cwd=ROOT, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 60)
        with tempfile.TemporaryDirectory() as scratch:
            for function in args.functions:
                archive = os.path.join(ROOT, "target", "lambda", function, "bootstrap.zip")
                if not os.path.exists(archive):
                    raise SystemExit(f"{archive} is missing: run `make package` first")
                with zipfile.ZipFile(archive) as packaged:
                    bootstrap = packaged.extract("bootstrap", os.path.join(scratch, function))
                os.chmod(bootstrap, 0o755)
                starts = [one_start(bootstrap, port, REQUESTS[function]) for _ in range(args.runs)]
                first = statistics.median(s[0] for s in starts) * 1000
                warm = statistics.median(s[1] for s in starts) * 1000
                statuses = sorted({str(s[2]) for s in starts})
                print(f"{function}: median of {args.runs} starts: first answer {first:.1f} ms, warm answer "
                      f"{warm:.1f} ms, init {first - warm:.1f} ms (zip {os.path.getsize(archive) / 1e6:.2f} MB, "
                      f"status {statuses})")
    finally:
        watch.stdin.close()
        watch.terminate()
        watch.wait()


if __name__ == "__main__":
    sys.exit(main())
