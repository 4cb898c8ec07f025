"""Whether an identity policy (or a resource policy's statements, principals aside) allows a request, by the rules of the IAM User Guide's "Policy evaluation logic"
and "IAM JSON policy elements: Condition operators" (the subset this stack's policies use; anything else is an
error, never a silent yes):

- A request is allowed when some `Allow` statement matches it and no `Deny` statement does; otherwise it is
  implicitly denied.
- A statement matches when one of its actions and one of its resources match (`*` any run of characters, `?`
  one; actions case-insensitively) and every condition holds.
- Conditions: every operator, and every key under it, must hold (AND); the values listed for one key are
  alternatives (OR). A single-valued operator on a key absent from the request is false.
- `ForAllValues:` holds when every value of the request's multivalued key matches one of the listed values,
  and so also when the key is absent or empty; `ForAnyValue:` when at least one does (never when absent).
- `Bool` compares the request's value as `"true"` or `"false"`; `ArnEquals` and `ArnLike` match an ARN with
  the wildcards above.
- `Null`: `"true"` holds when the key is absent, `"false"` when it is present.

A request is `Request(action, resource, context)`; `context` maps a condition key to a string or, for a
multivalued key (`dynamodb:LeadingKeys`, `kms:EncryptionContextKeys`), a list of strings.
"""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict = field(default_factory=dict)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, value, ignore_case=False):
    """IAM's wildcards: `*` any run, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


_COMPARE = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": lambda expected, actual: _wildcard(expected, actual),
    "Bool": lambda expected, actual: expected == str(actual).lower(),
    "ArnEquals": lambda expected, actual: _wildcard(expected, actual),
    "ArnLike": lambda expected, actual: _wildcard(expected, actual),
}


def _condition_holds(operator, key, expected, context):
    expected = [str(value).lower() if isinstance(value, bool) else value for value in _as_list(expected)]
    present = key in context and context[key] not in (None, [])
    if operator == "Null":
        [wanted] = expected
        return (not present) if wanted == "true" else present
    qualifier, _, base = operator.rpartition(":")
    if base not in _COMPARE:
        raise ValueError(f"condition operator {operator} is not evaluated here")
    compare = _COMPARE[base]
    matches = lambda actual: any(compare(value, actual) for value in expected)
    if qualifier == "ForAllValues":
        return all(matches(actual) for actual in _as_list(context.get(key, [])))
    if qualifier == "ForAnyValue":
        return present and any(matches(actual) for actual in _as_list(context[key]))
    if qualifier:
        raise ValueError(f"condition qualifier {qualifier} is not evaluated here")
    if not present or isinstance(context[key], list):
        return False
    return matches(context[key])


def statement_matches(statement, request):
    if not any(_wildcard(action, request.action, ignore_case=True) for action in _as_list(statement["Action"])):
        return False
    if not any(_wildcard(resource, request.resource) for resource in _as_list(statement["Resource"])):
        return False
    return all(_condition_holds(operator, key, expected, request.context)
               for operator, keys in statement.get("Condition", {}).items()
               for key, expected in keys.items())


def allowed(statements, request):
    """Whether the policy made of `statements` allows `request`."""
    if any(s["Effect"] == "Deny" and statement_matches(s, request) for s in statements):
        return False
    return any(s["Effect"] == "Allow" and statement_matches(s, request) for s in statements)
