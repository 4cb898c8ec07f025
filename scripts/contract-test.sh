#!/usr/bin/env bash
# Property-based contract testing of a running API: schemathesis reads the server's own /openapi.json,
# generates requests for every operation (valid and invalid ones), sends them signed in as a fresh user, and
# checks every answer against the document with all of its checks.
#
#   scripts/contract-test.sh <schemathesis> <api-url> <seconds>
#
# One worker: with two, CPython 3.11's ast.parse, which hypothesis calls from each worker thread to describe
# its filters, sometimes fails with "SystemError: AST constructor recursion depth mismatch" (a thread-safety
# fault of the interpreter, not of the API), and the run reports a runtime error.
set -euo pipefail

schemathesis=$1
api_url=${2%/}
seconds=$3

# A user of its own, and a token for it (the authorizer's 401/403 are checked by the smoke tests).
token=$(python3 - "$api_url" <<'PY'
import json, sys, urllib.request, uuid
base = sys.argv[1]
name = f"contract_{uuid.uuid4().hex[:10]}"
password = f"pw-{uuid.uuid4().hex}"
def post(path, body):
    request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
post("/users", {"username": name, "email": f"{name}@example.com", "full_name": "Contract Test", "password": password})
print(post("/login", {"username": name, "password": password})["token"])
PY
)

# One check is off, use_after_free: after DELETE /debts/{id} it expects every route that names the debt to
# be 404, but GET /debts/{id}/history stays readable by design (the audit trail, ending with DebtDeleted),
# and schemathesis 4.32.5 cannot turn the check off for one operation. GET /debts/{id} itself being 404
# after a delete is checked by scripts/smoke.py ("a deleted debt is gone"), which make test runs first.
# --max-time bounds the run; generation is seeded so a failure can be replayed with the seed it prints.
here=$(cd "$(dirname "$0")" && pwd)
export SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
# The token goes in through the document's bearerAuth scheme (schemathesis.toml), not as a fixed header, so
# the checks that send a request without it, or with a broken one, really do.
export CONTRACT_TOKEN=$token
exec "$schemathesis" --no-color --config-file "$here/schemathesis.toml" run "$api_url/openapi.json" \
  --url "$api_url" \
  --checks all \
  --exclude-checks use_after_free \
  --max-time "$seconds" \
  --workers 1 \
  --request-timeout 60 \
  --generation-database none
