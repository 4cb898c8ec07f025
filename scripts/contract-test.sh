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

# The run's fixture (scripts/schemathesis_hooks.py puts it in generated requests): a user of its own with
# three debts a plan can pay off (and a fourth that takes the run's statements, which close cycles to
# payments), a plan adopted over them and a calendar feed, a user whose one debt grows without bound, an unsubscribe link from a notice
# email the local server wrote to its outbox, and users the erasure may take; each with a token. The authorizer's 401/403 are checked by the smoke tests.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CONTRACT_DATA=$work/data.json CONTRACT_OUTCOMES=$work/outcomes.json CONTRACT_ANSWERS=$work/answers.json
python3 - "$api_url" "$CONTRACT_DATA" <<'PY'
import datetime, json, sys, urllib.request, uuid
base, out = sys.argv[1], sys.argv[2]
def call(method, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, json.dumps(body).encode(), headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)
def user(prefix, debts):
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    password = f"pw-{uuid.uuid4().hex}"
    call("POST", "/users", {"username": name, "email": f"{name}@example.com", "full_name": "Contract Test", "password": password})
    token = call("POST", "/login", {"username": name, "password": password})["token"]
    ids = [call("POST", "/debts", debt, token)["data"]["debt_id"] for debt in debts]
    return {"username": name, "password": password, "token": token, "debts": ids}
start = (datetime.date.today() - datetime.timedelta(days=90)).isoformat()
def debt(name, balance, rate, minimum):
    return {"debt_name": name, "principal": balance, "interest_rate": rate, "start_date": start,
            "payment_frequency": "monthly", "current_balance": balance, "creditor": "Contract Bank",
            "minimum_payment": minimum}
main = user("contract", [debt("Card", "2400.00", "19.99", "60.00"), debt("Car", "9000.00", "6.5", "250.00"),
                         debt("Loan", "500.00", "0", "25.00"), debt("Store card", "800.00", "24.9", "25.00")])
main["statement_debt"] = main["debts"].pop()
def adopt(person, body):
    """Adopts a plan for GET /users/{u}/plan, once the projection shows the person's debts (a plan is made
    from the read side, which the local server fills a moment after each write)."""
    import time, urllib.error
    for _ in range(100):
        try:
            return call("PUT", f"/users/{person['username']}/plan", body, person["token"])
        except urllib.error.HTTPError as refused:
            if refused.code != 422:
                raise
            time.sleep(0.1)
    sys.exit("contract test: the fixture's plan was never adopted")
adopt(main, {"strategy": "avalanche", "monthly_budget": "900.00"})
# The contract user's calendar feed, for GET /calendar/{feed}: the run's POST and DELETE of feeds go to the
# growing user, so this one keeps working.
main["calendar_feed"] = call("POST", f"/users/{main['username']}/calendar", {}, main["token"])["data"]["path"].removeprefix("/calendar/")
def unsubscribe_token():
    """A notice email's unsubscribe token, for /unsubscribe/{token}: a user of its own asks for emails in a
    zone where it is afternoon, with a statement due tomorrow there; the local server's sweep (every second)
    appends the reminder and its emailer writes it to the outbox, whose link this reads."""
    import os, time, datetime as dt
    data_dir = os.environ.get("SERVER_DATA_DIR")
    if not data_dir:
        return None
    mailed = user("mailed", [])
    now = dt.datetime.now(dt.timezone.utc)
    offset = max(-12, min(14, 15 - now.hour))
    zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    today = (now + dt.timedelta(hours=offset)).date()
    name = mailed["username"]
    call("PATCH", f"/users/{name}", {"time_zone": zone}, mailed["token"])
    call("PUT", f"/users/{name}/notifications", {"offsets_days": [3], "email": True, "kinds": ["payment_due_soon"]}, mailed["token"])
    card = call("POST", "/debts", debt("Mailed card", "500.00", "18", "25.00"), mailed["token"])["data"]["debt_id"]
    call("POST", f"/debts/{card}/statements", {"closing_date": str(today - dt.timedelta(days=2)), "statement_balance": "500",
         "minimum_due": "25", "due_date": str(today + dt.timedelta(days=1))}, mailed["token"])
    outbox = os.path.join(data_dir, "outbox")
    for _ in range(600):
        for file in (os.listdir(outbox) if os.path.isdir(outbox) else []):
            text = open(os.path.join(outbox, file)).read()
            if f"To: {name}@example.com" in text:
                link = text.split("List-Unsubscribe: <", 1)[1].split(">", 1)[0]
                return link.rsplit("/", 1)[1]
        time.sleep(0.1)
    sys.exit("contract test: the fixture's reminder email never reached the outbox")
json.dump({
    "unsubscribe_token": unsubscribe_token(),
    "main": main,
    # Finding 3 of issue 30: 2,000 at 100 % with a minimum of 1.00 overflowed every plan of its owner.
    "growing": user("growing", [debt("Growing", "2000.00", "100", "1.00")]),
    "erasable": [user("erasable", [debt("Gone", "100.00", "5", "10.00")]) for _ in range(4)],
}, open(out, "w"))
PY
token=$(python3 -c 'import json, os; print(json.load(open(os.environ["CONTRACT_DATA"]))["main"]["token"])')

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
"$schemathesis" --no-color --config-file "$here/schemathesis.toml" run "$api_url/openapi.json" \
  --url "$api_url" \
  --checks all \
  --exclude-checks use_after_free \
  --max-time "$seconds" \
  --workers 1 \
  --request-timeout 60 \
  --generation-database none

# Every operation must have been reached with data it could act on: at least one 2xx each (an operation that
# only ever answered 404 or 422 was not tested past its first check).
python3 - "$CONTRACT_OUTCOMES" "$api_url" <<'PY'
import json, sys, urllib.request
outcomes = json.load(open(sys.argv[1]))
with urllib.request.urlopen(sys.argv[2] + "/openapi.json", timeout=30) as response:
    paths = json.load(response)["paths"]
every = {f"{method.upper()} {path}" for path, item in paths.items() for method in item
         if method in ("get", "put", "post", "patch", "delete")}
never = sorted(label for label in every
               if not any(200 <= int(s) < 300 for s in outcomes.get(label, {})))
for label in sorted(outcomes):
    print(f"  {label}: " + ", ".join(f"{s} x{n}" for s, n in sorted(outcomes[label].items())))
if never:
    sys.exit(f"contract test: these operations never succeeded: {never}")
PY

# A client generated from the served document parses every example in it and every answer kept above.
"$(dirname "$schemathesis")/python" "$here/generated_client.py" "$api_url/openapi.json" "$CONTRACT_ANSWERS"
