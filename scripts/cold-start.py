#!/usr/bin/env python3
"""Measures a Lambda bootstrap's init time on this machine: starts the binary against a minimal stand-in for
the Lambda Runtime API and times how long it takes to ask for its first invocation (GET .../invocation/next),
which is when Lambda's Init phase ends. Prints the median of N starts.

    scripts/cold-start.py target/lambda/healthz/bootstrap [N]
"""

import http.server
import os
import socket
import statistics
import subprocess
import sys
import threading
import time


def measure(binary):
    first_poll = threading.Event()

    class RuntimeApi(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.endswith("/invocation/next"):
                first_poll.set()
            # Never hand out an invocation: the function stays in its first poll until it is stopped.
            time.sleep(5)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}",
               AWS_LAMBDA_FUNCTION_NAME="cold-start", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
               AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_REGION="us-east-1", TABLE_NAME="debts",
               AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_EC2_METADATA_DISABLED="true")
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not first_poll.wait(10):
        process.kill()
        raise SystemExit(f"{binary} never asked for an invocation")
    elapsed = time.perf_counter() - started
    process.kill()
    process.wait()
    server.shutdown()
    return elapsed


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    times = [measure(binary) for _ in range(runs)]
    print(f"{binary}: init median {statistics.median(times) * 1000:.1f} ms over {runs} starts "
          f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")


if __name__ == "__main__":
    main()
