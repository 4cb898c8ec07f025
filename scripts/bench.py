#!/usr/bin/env python3
"""`make bench`: every performance figure of the project next to its goal and a reference measured in the same
run, as one table. Each measurement is its own program, runnable alone; each prints its rows as lines
`BENCH {json}` (figure, goal, value, reference, ratio, met), which this script collects and lays out.

    scripts/bench.py [--python PYTHON] [--skip gateway,in-process,replay,lambda-start,zips]

PYTHON is a Python with boto3 (the tools venv) for the Lambda start reference. Zip sizes are read from
target/lambda/*/bootstrap.zip, which `make bench` builds first (`make package ARCH=x86_64`).
"""

import argparse
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZIP_LIMIT_MB = 5.0
START_GOAL_MS = 10.0


def run(command, env=None):
    """Runs a measurement, echoing its output, and answers its rows."""
    print(f"\n$ {' '.join(command)}", flush=True)
    process = subprocess.run(command, cwd=ROOT, env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE,
                             text=True, check=True)
    rows = []
    for line in process.stdout.splitlines():
        if line.startswith("BENCH "):
            rows.append(json.loads(line[len("BENCH "):]))
        else:
            print(line)
    return rows


def lambda_rows(python):
    print("\n$ scripts/cold-start.py --runtime minimal --python-reference get-debt healthz", flush=True)
    output = subprocess.run([python, "scripts/cold-start.py", "--runtime", "minimal", "--binaries",
                             "target/release", "--python-reference", "--json", "--runs", "11", "get-debt",
                             "healthz"], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=True).stdout
    starts = {r["function"]: r for r in map(json.loads, output.splitlines())}
    for start in starts.values():
        print(f"  {start['function']:<13} first answer {start['first_ms']:6.1f} ms, warm {start['warm_ms']:5.1f} ms, "
              f"statuses {start['statuses']}")
    python_ms = starts["python-boto3"]["first_ms"]
    rows = []
    for function in ("get-debt", "healthz"):
        first = starts[function]["first_ms"]
        rows.append({"figure": f"Lambda start, {function} (spawn to first answer, median of 11)",
                     "goal": f"≤ {START_GOAL_MS:.0f} ms", "value": f"{first:.1f} ms",
                     "reference": f"Python + boto3 clients {python_ms:.0f} ms", "ratio": round(first / python_ms, 3),
                     "met": first <= START_GOAL_MS})
    return rows


def zip_rows():
    zips = {os.path.basename(os.path.dirname(path)): os.path.getsize(path)
            for path in glob.glob(os.path.join(ROOT, "target", "lambda", "*", "bootstrap.zip"))}
    if not zips:
        print("\n(no zips under target/lambda: run `make package ARCH=x86_64` for the zip sizes)")
        return []
    print("\nLambda zips:")
    for name, size in sorted(zips.items(), key=lambda item: -item[1]):
        print(f"  {name:<22} {size / 1e6:5.2f} MB")
    largest = max(zips, key=zips.get)
    size_mb = zips[largest] / 1e6
    return [{"figure": f"largest Lambda zip ({largest}, of {len(zips)})", "goal": f"≤ {ZIP_LIMIT_MB:.0f} MB",
             "value": f"{size_mb:.2f} MB", "reference": f"goal {ZIP_LIMIT_MB:.0f} MB",
             "ratio": round(size_mb / ZIP_LIMIT_MB, 2), "met": size_mb <= ZIP_LIMIT_MB}]


def table(rows):
    headers = ["figure", "goal", "this build", "reference", "ratio", "goal met"]
    cells = [[r["figure"], r["goal"], r["value"], r["reference"], f"{r['ratio']:.2f}", "yes" if r["met"] else "NO"]
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    line = lambda values: "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths)) + " |"
    print("\n" + line(headers))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells:
        print(line(c))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    # `--bins` would apply to every package named in one command, hence one build per package.
    for package in (["local", "--bins"], ["bench", "--bins"], ["http-functions", "--bin", "get-debt", "--bin", "healthz"]):
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", *package], cwd=ROOT, check=True)
    rows = []
    if "gateway" not in skip:
        rows += run(["scripts/bench-gateway.sh"])
    if "in-process" not in skip:
        rows += run(["target/release/command-latency"])
    if "replay" not in skip:
        rows += run(["target/release/replay-throughput", "--store", "sqlite", "--events", "100000,1000000"])
    if "lambda-start" not in skip:
        rows += lambda_rows(args.python)
    if "zips" not in skip:
        rows += zip_rows()
    table(rows)


if __name__ == "__main__":
    sys.exit(main())
