"""Keeps the API document and a client generated from it in step: generates a Python client from the
document with openapi-python-client (pinned in the Makefile), then parses with that client's own response
parsers every JSON example the document gives and every answer in a file of live answers (the contract run
records them). A field that holds two JSON types, or an example or answer that disagrees with its schema,
fails here as it would in a client's hands (a payoff plan's `"never"` beside an integer did).

    python scripts/generated_client.py <openapi.json path or URL> [answers.json]

answers.json: {"GET /users/{username}/payoff-plan": [[200, "application/json", {...}], ...], ...}

openapi-python-client parses a status with the schema of its first media type only; where the document gives
one status two (the erasure's 403: API Gateway's `{"message"}`, or the handler's problem+json), an answer of
the other media type is parsed with the generated model of that media type's schema.
"""

import importlib
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import urllib.request

import httpx

PACKAGE = "debts_api_client"


def load_document(where):
    if re.match(r"^https?://", where):
        with urllib.request.urlopen(where, timeout=30) as response:
            return json.load(response)
    return json.loads(pathlib.Path(where).read_text())


def generate(document, into):
    spec = into / "openapi.json"
    spec.write_text(json.dumps(document))
    subprocess.run(
        [
            str(pathlib.Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path",
            str(spec),
            "--meta",
            "none",
            "--output-path",
            str(into / PACKAGE),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    sys.path.insert(0, str(into))


def snake(operation_id):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def operations(document):
    """Each operation's label (`GET /debts`) with its operation id and responses."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def parser_of(operation):
    module = importlib.import_module(f"{PACKAGE}.api.default.{snake(operation['operationId'])}")
    models = importlib.import_module(f"{PACKAGE}.models")
    client_module = importlib.import_module(f"{PACKAGE}.client")
    client = client_module.Client(base_url="http://127.0.0.1", raise_on_unexpected_status=True)

    def parse(status, content_type, body):
        media = operation.get("responses", {}).get(str(status), {}).get("content", {})
        declared = list(media)
        given = (content_type or "").split(";")[0].strip()
        if len(declared) > 1 and given in declared[1:]:
            schema = media[given]["schema"]["$ref"].rsplit("/", 1)[1]
            return getattr(models, schema).from_dict(body)
        return module._parse_response(client=client, response=httpx.Response(status, json=body))

    return parse


def examples(operation):
    for status, response in operation.get("responses", {}).items():
        if not status.isdigit():
            continue
        for content_type, media in response.get("content", {}).items():
            if "json" not in content_type:
                continue
            if "example" in media:
                yield int(status), content_type, media["example"]
            for example in media.get("examples", {}).values():
                if "value" in example:
                    yield int(status), content_type, example["value"]


def main():
    document = load_document(sys.argv[1])
    answers = json.loads(pathlib.Path(sys.argv[2]).read_text()) if len(sys.argv) > 2 else {}
    failures, parsed = [], {"examples": 0, "answers": 0}
    with tempfile.TemporaryDirectory() as work:
        generate(document, pathlib.Path(work))
        for label, operation in operations(document):
            parse = parser_of(operation)
            checks = [("example", *example) for example in examples(operation)]
            checks += [("answer", *answer) for answer in answers.get(label, [])]
            for kind, status, content_type, body in checks:
                try:
                    parse(status, content_type, body)
                    parsed["examples" if kind == "example" else "answers"] += 1
                except Exception as error:  # the generated parsers raise whatever they meet
                    failures.append(f"{label} {status} {kind}: {type(error).__name__}: {error}")
    print(f"generated client parsed {parsed['examples']} examples and {parsed['answers']} live answers")
    if failures:
        print("\n".join(failure.splitlines()[0] for failure in failures[:40]))
        sys.exit(f"{len(failures)} documented or live answers do not parse with the generated client")


if __name__ == "__main__":
    main()
