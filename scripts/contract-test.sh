#!/usr/bin/env bash
# Property-based contract testing of a running API: schemathesis reads the server's own /openapi.json,
# generates requests for every operation (valid and invalid ones), sends them signed in as a fresh user, and
# checks every answer against the document with all of its checks.
#
#   scripts/contract-test.sh <schemathesis> <api-url> <seconds>
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

# --max-time bounds the run; generation is seeded so a failure can be replayed with the seed it prints.
exec "$schemathesis" --no-color run "$api_url/openapi.json" \
  --url "$api_url" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-time "$seconds" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none
