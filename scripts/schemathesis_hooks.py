"""Schemathesis hooks for `make test-contract`.

Generated requests are independent, but an `Idempotency-Key` is a promise about state: the same key with
another body is a 422 by design (draft-ietf-httpapi-idempotency-key-header, section 2.7). Short generated
keys ("0", "A", or 255 zeros at the limit) repeat across cases, so each well-formed one gets a unique suffix;
malformed keys are left alone, so the negative cases still test the server's refusal.

Generated usernames and debt ids name nobody: every operation under `/users/{username}` answered 404 and the
payoff plan, the summary and the erasure were never run on data (schemathesis warned "Missing test data").
So three cases in four that carry a well-formed name get real ones from the run's fixture (CONTRACT_DATA,
written by scripts/contract-test.sh): the contract user and their debts, or a user whose debt grows without
bound (100 % a year, a minimum of 1.00), with that user's token; a statement goes to a debt of its own, and
every other one closes today (a generated day almost never falls within the debt's life); an erasure gets a user of its own, password
and token, while they last; a calendar feed's read gets the contract user's feed, and issuing or revoking
one is the growing user's; an unsubscribe link is the one a notice email of the run carried; one whole login in four is the contract user's. The fourth keeps its generated name, so the 404s stay tested. Every answer's
status is counted per operation into CONTRACT_OUTCOMES, which contract-test.sh checks: each operation must
have succeeded at least once; and a sample of the JSON answers goes into CONTRACT_ANSWERS, which a client
generated from the document must parse (scripts/generated_client.py).
"""

import atexit
import collections
import datetime
import itertools
import json
import os
import re
import uuid

import schemathesis

_SUFFIXES = itertools.count()
_TURNS = itertools.count()
_WELL_FORMED = re.compile(r"^[!-~]{1,255}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")

_DATA = json.load(open(os.environ["CONTRACT_DATA"])) if os.environ.get("CONTRACT_DATA") else None
_ERASABLE = list(_DATA["erasable"]) if _DATA else []
_OUTCOMES = collections.defaultdict(collections.Counter)


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


def _header(headers, name):
    for key in headers or {}:
        if key.lower() == name:
            return key
    return None


def _signed_in_as_contract_user(case):
    key = _header(case.headers, "authorization")
    return key is not None and case.headers[key] == f"Bearer {_DATA['main']['token']}"


def _as(case, user):
    case.headers[_header(case.headers, "authorization")] = f"Bearer {user['token']}"


def _real_data(case):
    if case.operation.label == "POST /login":
        # A generated login names nobody; one in four (whole bodies only) signs the contract user in.
        body = case.body
        if (
            _DATA
            and isinstance(body, dict)
            and set(body) == {"username", "password"}
            and next(_TURNS) % 4 == 0
        ):
            body["username"] = _DATA["main"]["username"]
            body["password"] = _DATA["main"]["password"]
        return
    params = case.path_parameters
    if case.operation.label == "GET /calendar/{feed}" and params and _DATA and next(_TURNS) % 4 != 0:
        # A generated token names no feed: three reads in four ask for the contract user's.
        params["feed"] = _DATA["main"]["calendar_feed"]
        return
    if "/unsubscribe/" in case.operation.label and params and _DATA and _DATA.get("unsubscribe_token"):
        # Likewise a generated link: three in four use the one a notice email of the run carried.
        if next(_TURNS) % 4 != 0:
            params["token"] = _DATA["unsubscribe_token"]
        return
    if not params or not _DATA or not _signed_in_as_contract_user(case):
        return
    if next(_TURNS) % 4 == 0:
        return
    label = case.operation.label
    if label == "DELETE /users/{username}":
        body = case.body
        if (
            _ERASABLE
            and _USERNAME.fullmatch(str(params.get("username", "")))
            and isinstance(body, dict)
            and isinstance(body.get("password"), str)
        ):
            victim = _ERASABLE.pop()
            params["username"] = victim["username"]
            body["password"] = victim["password"]
            _as(case, victim)
        return
    if "username" in params and _USERNAME.fullmatch(str(params["username"])):
        # One in three of these reads the user whose debt never falls.
        user = _DATA["growing"] if next(_TURNS) % 3 == 0 else _DATA["main"]
        if "/calendar" in label:
            # Issuing or revoking a feed ends the one before: the contract user's feed must keep working.
            user = _DATA["growing"]
        params["username"] = user["username"]
        _as(case, user)
    if label == "POST /debts/{debt_id}/statements" and _is_uuid(params.get("debt_id")):
        # A statement closes its cycle to payments and charges: the run's go to a debt of their own. A
        # generated closing date is almost never within the debt's life; every other one is today.
        params["debt_id"] = _DATA["main"]["statement_debt"]
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("closing_date"), str) and next(_TURNS) % 2 == 0:
            body["closing_date"] = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
        return
    # A deleted debt would be gone for the rest of the run: the stateful phase deletes the debts it creates.
    if "debt_id" in params and _is_uuid(params["debt_id"]) and label != "DELETE /debts/{debt_id}":
        debts = _DATA["main"]["debts"]
        params["debt_id"] = debts[next(_TURNS) % len(debts)]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Runs before every request of every phase (coverage, fuzzing, stateful)."""
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key" and _WELL_FORMED.fullmatch(str(headers[name])):
                # Cut to 240 first, so a key at the 255-character limit stays within it.
                headers[name] = f"{str(headers[name])[:240]}~{next(_SUFFIXES)}"
    _real_data(case)


# Up to this many JSON answers per operation and status are kept for the generated client to parse.
_ANSWERS_KEPT = 20
_ANSWERS = collections.defaultdict(list)


@schemathesis.hook
def after_call(ctx, case, response):
    label = case.operation.label
    _OUTCOMES[label][response.status_code] += 1
    # schemathesis gives header values as lists (lowercase names); a plain client as strings.
    content_type = response.headers.get("content-type", "")
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    # The checks also send other methods to an operation's path: their 405s are no answer of this operation.
    if "json" in content_type and response.status_code != 405:
        kept = sum(1 for status, _, _ in _ANSWERS[label] if status == response.status_code)
        if kept < _ANSWERS_KEPT:
            try:
                _ANSWERS[label].append([response.status_code, content_type, response.json()])
            except ValueError:
                pass


@atexit.register
def _write_outcomes():
    path = os.environ.get("CONTRACT_OUTCOMES")
    if path:
        with open(path, "w") as out:
            json.dump({label: dict(statuses) for label, statuses in _OUTCOMES.items()}, out, indent=1)
    path = os.environ.get("CONTRACT_ANSWERS")
    if path:
        with open(path, "w") as out:
            json.dump(_ANSWERS, out)
