"""Schemathesis hooks for `make test-contract`.

Generated requests are independent, but an `Idempotency-Key` is a promise about state: the same key with
another body is a 422 by design (draft-ietf-httpapi-idempotency-key-header, section 2.7). Short generated
keys ("0", "A", or 255 zeros at the limit) repeat across cases, so each well-formed one gets a unique suffix; malformed keys are left
alone, so the negative cases still test the server's refusal.
"""

import itertools
import re

import schemathesis

_SUFFIXES = itertools.count()
_WELL_FORMED = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """Runs before every request of every phase (coverage, fuzzing, stateful)."""
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "idempotency-key" and _WELL_FORMED.fullmatch(str(headers[name])):
                # Cut to 240 first, so a key at the 255-character limit stays within it.
                headers[name] = f"{str(headers[name])[:240]}~{next(_SUFFIXES)}"
