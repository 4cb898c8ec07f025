#!/usr/bin/env python3
"""Measures the cold start of Lambda functions: for each start, the function's bootstrap is spawned against a
Runtime API with one invocation already waiting, so "first" is spawn -> first answer. A second invocation of
the same process gives the warm figure, and init = first - warm is the part a cold start adds. Requests are
built so the handler answers without I/O (healthz's store probe fails fast against a closed port; create-debt
answers 422 before touching the store), which keeps the figure about start-up, not the network.

Two Runtime APIs: `--runtime emulator` (the default) is `cargo lambda watch --only-lambda-apis`, with the
bootstrap unzipped from target/lambda/<name>/bootstrap.zip (`make package`); `--runtime minimal` is the
smallest server that speaks the Runtime API (next invocation, response, error), in this script, and runs the
binaries of a directory (`--binaries target/release` by default), so it needs neither cargo-lambda nor a zip.
`--python-reference` adds, measured the same way, a Python bootstrap that creates boto3 DynamoDB and Secrets
Manager clients at import, as the original service's handlers do (run it with a Python that has boto3).
`--json` prints one JSON object per function instead of a sentence.

    scripts/cold-start.py [--runs N] [--runtime emulator|minimal] [--binaries DIR] [--python-reference] FUNCTION...
"""

import argparse
import http.server
import json
import queue
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


class MinimalRuntime:
    """The Lambda Runtime API's three calls a function makes, on 127.0.0.1: `invoke` queues an event and
    waits for the function's answer, as the Lambda service does."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = queue.Queue()
        runtime = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"{}", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self.reply(404)
                request_id, event = runtime.events.get()
                deadline = int(time.time() * 1000) + 30_000
                self.reply(200, json.dumps(event).encode(), [
                    ("Lambda-Runtime-Aws-Request-Id", request_id),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:_"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                    ("Content-Type", "application/json")])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.reply(202)
                if self.path.endswith("/response"):
                    runtime.answers.put(json.loads(body or b"null"))
                elif self.path.endswith("/error"):
                    runtime.answers.put({"error": json.loads(body or b"null")})

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A measured process is killed while its next `next` call is open: that reset is expected.
                if not isinstance(sys.exc_info()[1], ConnectionResetError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.address = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.count = 0

    def invoke(self, event):
        self.count += 1
        self.events.put((f"invocation-{self.count}", event))
        return self.answers.get(timeout=30)

    def fresh(self):
        """A runtime of its own for the next process: a killed process's pending `next` would otherwise take
        the next process's invocation."""
        self.close()
        return MinimalRuntime()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Emulator:
    """`cargo lambda watch --only-lambda-apis`, invoked through its invoke endpoint."""

    def __init__(self, cargo_lambda):
        self.port = free_port()
        self.address = f"http://127.0.0.1:{self.port}/.rt"
        # watch stops when its stdin closes, so it gets a pipe that stays open until we are done.
        self.watch = subprocess.Popen([cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--invoke-address",
                                       "127.0.0.1", "--invoke-port", str(self.port)], cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 60)

    def invoke(self, event):
        return invoke(self.port, event)

    def fresh(self):
        return self

    def close(self):
        self.watch.stdin.close()
        self.watch.terminate()
        self.watch.wait()


# The reference: the same shape in Python, as the original service's handlers were written (clients created at
# import), with the Runtime API loop every Python bootstrap runs.
PYTHON_BOOTSTRAP = """
import json, os, urllib.request
import boto3
dynamodb = boto3.client("dynamodb")
secrets = boto3.client("secretsmanager")
address = os.environ["AWS_LAMBDA_RUNTIME_API"]
api = ("" if address.startswith("http") else "http://") + address + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as invocation:
        request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(invocation.read())
    answer = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"ok": True})}
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=json.dumps(answer).encode(),
                                                  method="POST")).read()
"""


def one_start(runtime, command, event):
    """Spawn -> first answer, the warm answer after it, and the first answer's status."""
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=runtime.address, AWS_LAMBDA_FUNCTION_NAME="_",
               AWS_LAMBDA_FUNCTION_VERSION="1", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1",
               TABLE_NAME="debts", KMS_KEY_ID="alias/cold-start", AWS_ACCESS_KEY_ID="cold-start", AWS_SECRET_ACCESS_KEY="cold-start",
               AWS_EC2_METADATA_DISABLED="true", AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
               AWS_MAX_ATTEMPTS="1", RUST_LOG="off")
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first = runtime.invoke(event)
        answered = time.perf_counter()
        runtime.invoke(event)
        warm = time.perf_counter() - answered
    finally:
        process.kill()
        process.wait()
    # HTTP functions answer with a status; the enrichment with its envelopes.
    return answered - started, warm, first.get("statusCode") if isinstance(first, dict) else f"{len(first)} envelope"


def report(name, starts, runs, size, as_json):
    first = statistics.median(s[0] for s in starts) * 1000
    warm = statistics.median(s[1] for s in starts) * 1000
    statuses = sorted({str(s[2]) for s in starts})
    if as_json:
        print(json.dumps({"function": name, "runs": runs, "first_ms": round(first, 2), "warm_ms": round(warm, 2),
                          "statuses": statuses, "bytes": size}))
    else:
        zipped = f"zip {size / 1e6:.2f} MB, " if size else ""
        print(f"{name}: median of {runs} starts: first answer {first:.1f} ms, warm answer {warm:.1f} ms, "
              f"init {first - warm:.1f} ms ({zipped}status {statuses})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("functions", nargs="*", help=f"any of {', '.join(sorted(REQUESTS))}")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--runtime", choices=["emulator", "minimal"], default="emulator")
    parser.add_argument("--binaries", default=os.path.join(ROOT, "target", "release"))
    parser.add_argument("--python-reference", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--cargo-lambda", default=os.path.join(ROOT, ".tools", "venv", "bin", "cargo-lambda"))
    args = parser.parse_args()
    unknown = sorted(set(args.functions) - set(REQUESTS))
    if unknown:
        parser.error(f"no request for {', '.join(unknown)}")

    runtime = MinimalRuntime() if args.runtime == "minimal" else Emulator(args.cargo_lambda)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for function in args.functions:
                size = 0
                if args.runtime == "emulator":
                    archive = os.path.join(ROOT, "target", "lambda", function, "bootstrap.zip")
                    if not os.path.exists(archive):
                        raise SystemExit(f"{archive} is missing: run `make package` first")
                    with zipfile.ZipFile(archive) as packaged:
                        bootstrap = packaged.extract("bootstrap", os.path.join(scratch, function))
                    os.chmod(bootstrap, 0o755)
                    size = os.path.getsize(archive)
                else:
                    bootstrap = os.path.join(args.binaries, function)
                    if not os.path.exists(bootstrap):
                        raise SystemExit(f"{bootstrap} is missing: build the release binaries first")
                starts = []
                for _ in range(args.runs):
                    runtime = runtime.fresh()
                    starts.append(one_start(runtime, [bootstrap], REQUESTS[function]))
                report(function, starts, args.runs, size, args.json)
            if args.python_reference:
                script = os.path.join(scratch, "bootstrap.py")
                with open(script, "w") as out:
                    out.write(PYTHON_BOOTSTRAP)
                starts = []
                for _ in range(args.runs):
                    runtime = runtime.fresh()
                    starts.append(one_start(runtime, [sys.executable, script], REQUESTS["healthz"]))
                report("python-boto3", starts, args.runs, 0, args.json)
    finally:
        runtime.close()


if __name__ == "__main__":
    sys.exit(main())
