#!/usr/bin/env python3
"""Smoke test of a running debts API (local or deployed): walks the auth flow (`auth`), the debt flow
(`api`) or both (`all`) against a base URL, deletes the debts it created, and stops at the first failure with
a readable report. Users cannot be deleted through the API, so each run registers a fresh `smoke_...` user.

    scripts/smoke.py api|auth|all [BASE_URL]      (default BASE_URL: $API_URL or http://127.0.0.1:3000)
"""

import datetime
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


class SmokeFailure(Exception):
    pass


class Client:
    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.steps = 0

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw, response_headers = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, response_headers = error.code, error.read(), dict(error.headers)
        except urllib.error.URLError as error:
            raise SmokeFailure(f"{method} {path}: cannot reach {self.base_url} ({error.reason})") from error
        text = raw.decode(errors="replace")
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        return status, payload, {k.lower(): v for k, v in response_headers.items()}

    def expect(self, what, expected, method, path, **kwargs):
        self.steps += 1
        status, payload, headers = self.call(method, path, **kwargs)
        if status != expected:
            raise SmokeFailure(
                f"step {self.steps}: {what}\n  {method} {path} answered {status}, expected {expected}\n"
                f"  body: {json.dumps(payload, indent=2) if payload is not None else '(empty)'}")
        print(f"  ok  {what} ({method} {path} -> {status})")
        return payload, headers

    def expect_body(self, what, payload, expected):
        self.steps += 1
        if payload != expected:
            raise SmokeFailure(f"step {self.steps}: {what}\n  body {payload!r}, expected {expected!r}")
        print(f"  ok  {what} ({json.dumps(expected)})")


def register_and_login(client):
    username = f"smoke_{uuid.uuid4().hex[:12]}"
    password = f"pw-{uuid.uuid4().hex}"
    client.expect("register a user", 201, "POST", "/users", body={
        "username": username, "email": f"{username}@example.com", "full_name": "Smoke Test", "password": password})
    token, _ = client.expect("log in", 200, "POST", "/login", body={"username": username, "password": password})
    if token.get("token_type") != "Bearer" or not token.get("token"):
        raise SmokeFailure(f"login answered without a bearer token: {token}")
    return username, password, token["token"]


def auth_flow(client):
    username, password, token = register_and_login(client)
    client.expect("a wrong password is refused", 401, "POST", "/login",
                  body={"username": username, "password": password + "x"})
    client.expect("an unknown user is refused", 401, "POST", "/login",
                  body={"username": f"nobody_{uuid.uuid4().hex[:8]}", "password": password})
    # API Gateway's own answers (its JSON shape, not problem+json): no identity source is 401 before the
    # authorizer runs; a token the authorizer refuses is 403.
    refused, _ = client.expect("no token, no debts", 401, "GET", "/debts")
    client.expect_body("API Gateway's 401", refused, {"message": "Unauthorized"})
    forged, _ = client.expect("a forged token is refused", 403, "GET", "/debts", token=token[:-2] + "xx")
    client.expect_body("API Gateway's 403", forged, {"message": "Forbidden"})
    client.expect("read your own profile", 200, "GET", f"/users/{username}", token=token)
    client.expect("someone else's profile is not found", 404, "GET", "/users/someone_else", token=token)
    client.expect("a taken username is a conflict", 409, "POST", "/users", body={
        "username": username, "email": f"other-{username}@example.com", "full_name": "Again", "password": password})
    erasure_flow(client)


def erasure_flow(client):
    """A user erases their account: the wrong password changes nothing; then their token and password stop
    working, and their email can register again (docs/privacy.md)."""
    username, password, token = register_and_login(client)
    client.expect("a debt to erase", 201, "POST", "/debts", token=token, body={
        "debt_name": "Smoke loan", "principal": 100, "interest_rate": 1, "start_date": "2025-01-01",
        "payment_frequency": "monthly", "creditor": "Smoke bank"})
    client.expect("erasure with a wrong password is refused", 403, "DELETE", f"/users/{username}", token=token,
                  body={"password": password + "x"})
    client.expect("someone else's account is not found", 404, "DELETE", "/users/someone_else", token=token,
                  body={"password": password})
    erased, _ = client.expect("erase your account", 200, "DELETE", f"/users/{username}", token=token,
                              body={"password": password})
    client.expect_body("it names what it erased", (erased["data"]["username"], erased["data"]["debts"]),
                       (username, 1))
    client.expect("the password no longer logs in", 401, "POST", "/login",
                  body={"username": username, "password": password})
    # API Gateway caches the authorizer's "yes" for up to 30 s; the local gateway does not cache.
    for _ in range(70):
        status, payload, _ = client.call("GET", f"/users/{username}", token=token)
        if status == 403:
            break
        time.sleep(0.5)
    client.expect_body("the token is refused", (status, payload), (403, {"message": "Forbidden"}))
    client.expect("the email registers again", 201, "POST", "/users", body={
        "username": f"{username}_2"[:32], "email": f"{username}@example.com", "full_name": "Again",
        "password": password})


def api_flow(client):
    username, _, token = register_and_login(client)
    created = []
    try:
        debt, headers = client.expect("record a debt", 201, "POST", "/debts", token=token, body={
            "debt_name": "Smoke loan", "principal": 1000, "interest_rate": 5.5, "start_date": "2025-01-01",
            "payment_frequency": "monthly", "creditor": "Smoke Bank", "minimum_payment": "100"})
        debt_id = debt["data"]["debt_id"]
        created.append(debt_id)
        etag = headers.get("etag")
        if etag != '"1"':
            raise SmokeFailure(f"a new debt should carry ETag \"1\", got {etag}")
        path = f"/debts/{debt_id}"
        client.expect("invalid input is refused", 422, "POST", "/debts", token=token, body={"debt_name": ""})
        fetched = eventually(client, "read the debt back", path, token, 200)
        if fetched["data"]["principal"] != "1000.00":
            raise SmokeFailure(f"the principal should read \"1000.00\": {fetched}")
        client.expect("list your debts", 200, "GET", "/debts?limit=10", token=token)
        client.expect("update with the current ETag", 200, "PUT", path, token=token,
                      body={"current_balance": "900.50"}, headers={"If-Match": '"1"'})
        client.expect("a stale ETag is refused", 412, "PUT", path, token=token,
                      body={"current_balance": "1.00"}, headers={"If-Match": '"1"'})
        history, _ = client.expect("read the history", 200, "GET", f"{path}/history", token=token)
        change = history["data"][-1].get("changes", {}).get("current_balance")
        if change != {"from": "1000.00", "to": "900.50"}:
            raise SmokeFailure(f"the history should show the balance change: {history}")
        if history.get("next_cursor", "missing") is not None:
            raise SmokeFailure(f"a two-event history is one page (next_cursor null): {history}")
        first, _ = client.expect("read the history a page at a time", 200, "GET", f"{path}/history?limit=1",
                                 token=token)
        rest, _ = client.expect("follow next_cursor", 200, "GET",
                                f"{path}/history?limit=1&cursor={first['next_cursor']}", token=token)
        if [e["version"] for e in first["data"] + rest["data"]] != [1, 2] or rest["next_cursor"] is not None:
            raise SmokeFailure(f"the pages should hold versions 1 and 2: {first} {rest}")
        eventually(client, "the portfolio summary counts the debt", f"/users/{username}/summary", token, 200,
                   until=lambda body: body["data"]["total_current_balance"] == "900.50")
        # The plan reads the debts' read items, which the projector writes; the summary above sums the
        # portfolio's, which another consumer writes, so the summary being current says nothing of the plan.
        eventually(client, "the debt reads its update", path, token, 200,
                   until=lambda body: body["data"]["version"] == 2)
        plan_flow(client, username, token, path)
        money_flow(client, username, token, path)
        card_id = rate_flow(client, username, token)
        created.append(card_id)
        statement_flow(client, username, token, card_id)
        calendar_flow(client, username, token, card_id)
        created.extend(email_flow(client, username, token))
    finally:
        for debt_id in created:
            client.expect("clean up: delete the debt", 200, "DELETE", f"/debts/{debt_id}", token=token)
    eventually(client, "a deleted debt is gone", f"/debts/{created[0]}", token, 404)


def plan_flow(client, username, token, path):
    """A payoff plan and a schedule of the one debt: 900.50 at 5.5 %, 100 a month minimum; the plan adopted,
    and the month's progress measured against it."""
    plan, _ = client.expect("a payoff plan", 200, "GET",
                            f"/users/{username}/payoff-plan?monthly_budget=300&start=2027-01&include=schedule",
                            token=token)
    first = plan["data"]["schedule"][0]
    # 900.50 x 5.5 / 1200 = 4.1272... -> 4.13 of interest; 300 paid; 604.63 left.
    if (first["interest"], first["payment"], first["balance"]) != ("4.13", "300.00", "604.63"):
        raise SmokeFailure(f"the plan's first month should be 4.13 interest, 300.00 paid, 604.63 left: {first}")
    if plan["data"]["months"] != 4 or plan["data"]["compare"]["minimum_only"]["months"] != 10:
        raise SmokeFailure(f"300 a month clears it in 4 months, the minimum in 10: {plan}")
    client.expect("a budget below the minimums is refused", 422, "GET",
                  f"/users/{username}/payoff-plan?monthly_budget=99.99", token=token)
    schedule, _ = client.expect("the debt's schedule", 200, "GET", f"{path}/schedule?payment=150", token=token)
    if schedule["data"]["months"] != 7 or schedule["data"]["payment"] != "150.00":
        raise SmokeFailure(f"150 a month clears 900.50 at 5.5 % in 7 months: {schedule}")
    adopted, _ = client.expect("adopt the plan", 200, "PUT", f"/users/{username}/plan", token=token,
                               body={"strategy": "avalanche", "monthly_budget": "300"})
    plan = adopted["data"]
    if plan["starting_total"] != "900.50" or plan["planned"][-1]["total"] != "0.00" or len(plan["planned"]) != 4:
        raise SmokeFailure(f"the adopted plan promises 900.50 to nothing in 4 months: {plan}")
    if plan["today"]["ahead_by"] != {"amount": "0.00", "months": 0}:
        raise SmokeFailure(f"a plan adopted now is neither ahead nor behind: {plan['today']}")
    client.expect("read the adopted plan", 200, "GET", f"/users/{username}/plan", token=token)
    progress, _ = client.expect("see your progress", 200, "GET", f"/users/{username}/progress", token=token)
    last = progress["data"]["months"][-1]
    if last["total_balance"] != "900.50" or last["planned_total"] != "900.50" or not progress["data"]["plan_adopted"]:
        raise SmokeFailure(f"this month ends at 900.50, as the plan adopted in it starts: {last}")
    client.expect("a budget below the minimums is not adopted", 422, "PUT", f"/users/{username}/plan",
                  token=token, body={"monthly_budget": "99.99"})


def money_flow(client, username, token, path):
    """Payments and charges as events, and reads as of an earlier instant."""
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    yesterday = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)).date().isoformat()
    before_payment = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    time.sleep(0.01)
    paid, headers = client.expect("record a payment", 201, "POST", f"{path}/payments", token=token,
                                  body={"amount": "400.50", "paid_on": today, "note": "smoke"},
                                  headers={"If-Match": '"2"', "Idempotency-Key": f"smoke-{uuid.uuid4()}"})
    if paid["data"]["current_balance"] != "500.00" or headers.get("etag") != '"3"':
        raise SmokeFailure(f"the payment should leave 500.00 at version 3: {paid} {headers}")
    client.expect("a payment over the balance is refused", 422, "POST", f"{path}/payments", token=token,
                  body={"amount": "500.01", "paid_on": today})
    client.expect("add a fee", 201, "POST", f"{path}/charges", token=token,
                  body={"amount": "25", "charged_on": today, "kind": "fee"})
    cleared, _ = client.expect("pay the rest", 201, "POST", f"{path}/payments", token=token,
                               body={"amount": "525.00", "paid_on": today})
    if cleared["data"]["status"] != "paid_off" or cleared["data"]["paid_off_on"] != today:
        raise SmokeFailure(f"the debt should be paid off today: {cleared}")
    client.expect("a paid-off debt takes no payment", 409, "POST", f"{path}/payments", token=token,
                  body={"amount": "1", "paid_on": today})
    history, _ = client.expect("the history shows the payments", 200, "GET", f"{path}/history", token=token)
    payment = history["data"][2]
    if payment["event_type"] != "PaymentRecorded" or payment["balance"] != {"before": "900.50", "after": "500.00"}:
        raise SmokeFailure(f"the history should show the payment and the balance before and after: {history}")
    then, _ = client.expect("the debt as of before the payment", 200, "GET",
                            f"{path}?as_of={urllib.parse.quote(before_payment)}", token=token)
    if then["data"]["current_balance"] != "900.50" or then["as_of"] is None:
        raise SmokeFailure(f"as of {before_payment} the balance was 900.50: {then}")
    summary, _ = client.expect("the summary as of yesterday", 200, "GET",
                               f"/users/{username}/summary?as_of={yesterday}", token=token)
    if summary["data"]["open_debts"] != 0:
        raise SmokeFailure(f"yesterday there was no debt yet: {summary}")
    client.expect("as_of in the future is refused", 422, "GET", f"/debts?as_of=2999-01-01", token=token)
    eventually(client, "the paid-off debt is listed as paid off", "/debts?status=paid_off", token, 200,
               until=lambda body: [d["debt_id"] for d in body["data"]] == [path.rsplit("/", 1)[1]])
    eventually(client, "the summary counts what was paid", f"/users/{username}/summary", token, 200,
               until=lambda body: body["data"]["total_paid"] == "925.50" and body["data"]["open_debts"] == 0)


def rate_flow(client, username, token):
    """A card at 20 % with a 0 % promotion running today: the debt shows the rate in force and the
    promotion's end, and a plan (the card is the user's only open debt now) charges no interest in its
    first month. Answers the card's id, for the clean-up."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    card, _ = client.expect("record a card", 201, "POST", "/debts", token=token, body={
        "debt_name": "Smoke card", "principal": 1000, "interest_rate": 20, "start_date": "2025-01-01",
        "payment_frequency": "monthly", "minimum_payment": "100"})
    path = f"/debts/{card['data']['debt_id']}"
    # Through 70 days from today: past the last day of next month, a plan's first month.
    ends_on = (today + datetime.timedelta(days=70)).isoformat()
    client.expect("a promotional rate", 201, "POST", f"{path}/rates", token=token, body={
        "rate": "0", "effective_on": (today - datetime.timedelta(days=30)).isoformat(), "ends_on": ends_on,
        "kind": "promotional"})
    client.expect("a rate step ending before it starts is refused", 422, "POST", f"{path}/rates", token=token,
                  body={"rate": "5", "effective_on": today.isoformat(), "ends_on": "2025-01-01",
                        "kind": "standard"})
    debt = eventually(client, "the card reads its rate schedule", path, token, 200,
                      until=lambda body: body["data"]["version"] == 2)
    if debt["data"]["current_rate"] != "0" or debt["data"].get("promo_ends_on") != ends_on:
        raise SmokeFailure(f"the card should be at 0 % until {ends_on}: {debt}")
    plan, _ = client.expect("a plan with the promotion", 200, "GET",
                            f"/users/{username}/payoff-plan?monthly_budget=100&include=schedule", token=token)
    interest = [row["interest"] for row in plan["data"]["schedule"]]
    if interest[0] != "0.00" or interest[-1] == "0.00":
        raise SmokeFailure(f"no interest while the promotion runs, 20 % after it: {interest}")
    return card["data"]["debt_id"]


def statement_flow(client, username, token, card_id):
    """The card's statement closing yesterday says 1,012.50 with a 12.50 fee, where the records say 1,000.00:
    the fee is booked on the closing date, the debt shows the statement and its due date (the closing plus
    21 days, in the user's time zone, which they set), a payment dated in the closed cycle is refused, and by
    effective date the day before the closing still reads 1,000.00."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    closing = (today - datetime.timedelta(days=1)).isoformat()
    path = f"/debts/{card_id}"
    stated, _ = client.expect("record the lender's statement", 201, "POST", f"{path}/statements", token=token,
                              body={"closing_date": closing, "statement_balance": "1012.50",
                                    "minimum_due": "25", "fees_charged": "12.50"})
    last = stated["data"]["last_statement"]
    if (last["expected_balance"], last["difference"], last["booked"]) != (
            "1000.00", "12.50", [{"kind": "fee", "amount": "12.50"}]):
        raise SmokeFailure(f"the statement should book the 12.50 fee: {last}")
    client.expect("a payment dated in the closed cycle is refused", 422, "POST", f"{path}/payments",
                  token=token, body={"amount": "10", "paid_on": closing})
    debt = eventually(client, "the card reads its statement", path, token, 200,
                      until=lambda body: body["data"]["version"] == 3)
    if debt["data"]["current_balance"] != "1012.50" or "estimated_interest_since_statement" not in debt["data"]:
        raise SmokeFailure(f"the card should owe the statement's 1,012.50: {debt}")
    due = (today + datetime.timedelta(days=20)).isoformat()
    if (debt["data"].get("next_due_on"), debt["data"].get("minimum_due"), debt["data"]["status"]) != (
            due, "25.00", "open"):
        raise SmokeFailure(f"the statement's minimum of 25.00 is due on {due}: {debt}")
    settings, _ = client.expect("set a time zone", 200, "PATCH", f"/users/{username}", token=token,
                                body={"time_zone": "Europe/Paris"})
    if settings["data"]["time_zone"] != "Europe/Paris":
        raise SmokeFailure(f"the profile should hold the time zone: {settings}")
    client.expect("a time zone the database does not know is refused", 422, "PATCH", f"/users/{username}",
                  token=token, body={"time_zone": "Mars/Olympus_Mons"})
    chosen, _ = client.expect("choose how notices come", 200, "PUT", f"/users/{username}/notifications",
                              token=token, body={"offsets_days": [1, 7], "email": False,
                                                 "kinds": ["payment_due_soon"]})
    if chosen["data"]["notifications"]["offsets_days"] != [7, 1]:
        raise SmokeFailure(f"offsets are kept largest first: {chosen}")
    before = (today - datetime.timedelta(days=2)).isoformat()
    then, _ = client.expect("the balance by effective date", 200, "GET", f"{path}?on={before}", token=token)
    if then["data"]["current_balance"] != "1000.00":
        raise SmokeFailure(f"before the closing the card owed 1,000.00: {then}")


def calendar_flow(client, username, token, card_id):
    """The user's private calendar feed, read as a calendar app reads it (no Authorization) and parsed by an
    independent parser (the `icalendar` package): the card's due dates for a year with alarms at 09:00 on the
    7- and 1-day reminder days, its promotion's end without alarms (the user hears of due dates only), lines
    folded at 75 octets (the card's long, accented name needs it), an ETag that answers 304, and a revoked
    feed that answers 404."""
    try:
        import icalendar
    except ImportError as error:
        raise SmokeFailure("the calendar step parses the feed with the icalendar package: run it with the "
                           "tools venv's python (make test-api does)") from error
    today = datetime.datetime.now(datetime.timezone.utc).date()
    name = "Carte de crédit — Banque Populaire du Sud-Ouest, n°2; compte joint"
    client.expect("rename the card", 200, "PUT", f"/debts/{card_id}", token=token, body={"debt_name": name})
    issued, headers = client.expect("get a private calendar feed", 201, "POST", f"/users/{username}/calendar",
                                    token=token)
    if headers.get("cache-control") != "no-store" or not issued["data"]["url"].endswith(".ics"):
        raise SmokeFailure(f"a feed's URL is answered once, not to be stored: {issued} {headers}")
    feed_path = issued["data"]["path"]
    body = None
    for _ in range(1200):
        status, body, feed_headers = client.call("GET", feed_path)
        if status == 200 and isinstance(body, str) and "Banque" in body.replace("\r\n ", ""):
            break
        time.sleep(0.1)
    else:
        raise SmokeFailure(f"the feed never showed the renamed card: {status} {body}")
    client.steps += 1
    print(f"  ok  read the feed without a token header (GET {feed_path[:22]}... -> 200)")
    if feed_headers.get("content-type") != "text/calendar; charset=utf-8":
        raise SmokeFailure(f"a feed is text/calendar: {feed_headers}")
    raw = body.encode()
    if any(len(line) > 75 for line in raw.split(b"\r\n")):
        raise SmokeFailure("every line of the feed is at most 75 octets")
    calendar = icalendar.Calendar.from_ical(raw)
    events = [c for c in calendar.walk("VEVENT")]
    uids = [str(e["UID"]) for e in events]
    if len(uids) != len(set(uids)):
        raise SmokeFailure(f"UIDs are unique: {uids}")
    due_on = today + datetime.timedelta(days=20)
    dues = [e for e in events if str(e["SUMMARY"]).startswith(name) and "due" in str(e["SUMMARY"])]
    first = next((e for e in dues if e.decoded("DTSTART") == due_on), None)
    if first is None or str(first["SUMMARY"]) != f"{name}: 25.00 due" or not 12 <= len(dues) <= 13:
        raise SmokeFailure(f"a year of the card's due dates, the first the statement's: {[str(e['SUMMARY']) for e in events]}")
    triggers = sorted(alarm.decoded("TRIGGER") for alarm in first.walk("VALARM"))
    if triggers != [-datetime.timedelta(hours=159), -datetime.timedelta(hours=15)]:
        raise SmokeFailure(f"alarms at 09:00, 7 days and 1 day before: {triggers}")
    ends = [e for e in events if "promotional" in str(e["SUMMARY"])]
    if [e.decoded("DTSTART") for e in ends] != [today + datetime.timedelta(days=70)] or ends[0].walk("VALARM"):
        raise SmokeFailure(f"the promotion's end, without alarms (not among the user's kinds): {ends}")
    client.steps += 1
    print(f"  ok  the feed parses as iCalendar: {len(events)} events, alarms at the reminder days")
    client.expect("an unchanged feed is 304", 304, "GET", feed_path, headers={"If-None-Match": feed_headers["etag"]})
    client.expect("revoke the feed", 200, "DELETE", f"/users/{username}/calendar", token=token)
    client.expect("a revoked feed is not found", 404, "GET", feed_path)


def local_morning_zone():
    """A fixed-offset zone where it is now mid-afternoon (after the notices' 09:00, well before midnight),
    and today's date there."""
    now = datetime.datetime.now(datetime.timezone.utc)
    offset = max(-12, min(14, 15 - now.hour))
    zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    return zone, (now + datetime.timedelta(hours=offset)).date()


def email_flow(client, username, token):
    """A notice by email end to end on the local server: the user asks for emails, a card's statement is due
    tomorrow in their zone, the server's sweep (every second under scripts/with-local-server.sh) appends
    the 3-day reminder, the bus loop's emailer writes it to DATA_DIR/outbox/, and its unsubscribe link's page
    and one-click POST stop that kind. Skipped against a deployed API (its mail goes through SES). Answers
    the debt it created, for the clean-up."""
    data_dir = os.environ.get("SERVER_DATA_DIR")
    if not data_dir:
        print("  --  the notice email (needs the local server's SERVER_DATA_DIR): skipped")
        return []
    import email
    import email.policy
    zone, today = local_morning_zone()
    client.expect("a time zone where it is afternoon", 200, "PATCH", f"/users/{username}", token=token,
                  body={"time_zone": zone})
    client.expect("ask for notices by email", 200, "PUT", f"/users/{username}/notifications", token=token,
                  body={"offsets_days": [3], "email": True,
                        "kinds": ["payment_due_soon", "payment_missed", "promo_ending_soon"]})
    card, _ = client.expect("record a card to be reminded of", 201, "POST", "/debts", token=token, body={
        "debt_name": "Smoke email card", "principal": 500, "interest_rate": 18, "start_date": "2025-01-01",
        "payment_frequency": "monthly"})
    card_id = card["data"]["debt_id"]
    due = (today + datetime.timedelta(days=1)).isoformat()
    client.expect("its statement, due tomorrow", 201, "POST", f"/debts/{card_id}/statements", token=token,
                  body={"closing_date": (today - datetime.timedelta(days=2)).isoformat(),
                        "statement_balance": "500", "minimum_due": "25", "due_date": due})
    outbox = os.path.join(data_dir, "outbox")
    message = None
    for _ in range(1200):
        for name in sorted(os.listdir(outbox)) if os.path.isdir(outbox) else []:
            with open(os.path.join(outbox, name), "rb") as raw:
                parsed = email.message_from_binary_file(raw, policy=email.policy.default)
            if parsed["To"] == f"{username}@example.com" and "Smoke email card" in parsed["Subject"]:
                message = parsed
        if message is not None:
            break
        time.sleep(0.1)
    if message is None:
        raise SmokeFailure(f"no reminder email reached {outbox}")
    client.steps += 1
    print(f"  ok  the reminder was emailed: {message['Subject']}")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    if message["Subject"] != f"Smoke email card: 25.00 due on {due}" or "25.00" not in text or "<p>" not in html:
        raise SmokeFailure(f"the email names the card, the minimum and the date: {message['Subject']} {text}")
    link = message["List-Unsubscribe"].strip("<>")
    path = urllib.parse.urlsplit(link).path
    if not link.startswith(client.base_url) or link not in text:
        raise SmokeFailure(f"the unsubscribe link is the server's own and in the text: {link}")
    client.expect("the unsubscribe link's page", 200, "GET", path)
    client.expect("one-click unsubscribe", 200, "POST", path, headers={
        "Content-Type": "application/x-www-form-urlencoded"}, body=None)
    eventually(client, "the reminders are off", f"/users/{username}", token, 200,
               until=lambda body: body["data"]["notifications"]["kinds"] == ["payment_missed", "promo_ending_soon"])
    return [card_id]


def eventually(client, what, path, token, expected, attempts=1200, until=lambda body: True):
    """Reads are served from projections (and the summary from analytics), which follow commands closely but
    not instantly: polls until the status is `expected` and `until` holds for the body."""
    for _ in range(attempts):
        status, payload, _ = client.call("GET", path, token=token)
        if status == expected and until(payload):
            client.steps += 1
            print(f"  ok  {what} (GET {path} -> {status})")
            return payload
        time.sleep(0.1)
    raise SmokeFailure(f"{what}: GET {path} never answered {expected} (last: {status} {payload})")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in {"api", "auth", "all"}:
        print(__doc__, file=sys.stderr)
        return 2
    base_url = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("API_URL", "http://127.0.0.1:3000")
    client = Client(base_url)
    flows = {"auth": [auth_flow], "api": [api_flow], "all": [auth_flow, api_flow]}[sys.argv[1]]
    print(f"smoke test ({sys.argv[1]}) against {base_url}")
    try:
        client.expect("the API is healthy", 200, "GET", "/healthz")
        for flow in flows:
            flow(client)
    except SmokeFailure as failure:
        print(f"FAILED\n{failure}", file=sys.stderr)
        return 1
    print(f"{client.steps} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
