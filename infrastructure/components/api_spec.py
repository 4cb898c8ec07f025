"""The HTTP API's routes, read from `docs/openapi.json`: the one description of the API that the Rust route
table (`api::ROUTES`), the local gateway and this program all follow. Each operation names the Lambda function
that serves it in its `x-function` extension; an operation whose `security` is empty is public, any other
passes the authorizer."""

import json
from dataclasses import dataclass
from pathlib import Path

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@dataclass(frozen=True)
class Throttle:
    """A route's own throttle (`x-throttle`): requests a second, and the burst, for all callers together."""
    rate: float
    burst: int


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    protected: bool
    throttle: Throttle | None = None

    @property
    def key(self):
        """API Gateway's route key: `METHOD /path/{param}`."""
        return f"{self.method} {self.path}"


def load_spec(path=SPEC_PATH):
    with open(path) as spec_file:
        return json.load(spec_file)


def routes(spec=None):
    """Every operation of `spec` (by default docs/openapi.json) as a route; an operation that names no function
    is an error, since nothing would serve it."""
    spec = load_spec() if spec is None else spec
    found, unnamed = [], []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            function = operation.get("x-function")
            if not function:
                unnamed.append(f"{method.upper()} {path}")
                continue
            security = operation.get("security", spec.get("security", []))
            limit = operation.get("x-throttle")
            throttle = Throttle(float(limit["rate"]), int(limit["burst"])) if limit else None
            found.append(Route(method.upper(), path, function, protected=bool(security), throttle=throttle))
    if unnamed:
        raise ValueError(f"operations without a function (x-function): {', '.join(unnamed)}")
    return found


@dataclass(frozen=True)
class Cors:
    allow_origins: list
    allow_methods: list
    allow_headers: list
    expose_headers: list
    max_age: int


def cors(spec=None):
    """The API's CORS configuration, `x-cors` of `spec` (by default docs/openapi.json): the local gateway
    answers with the same lists."""
    spec = load_spec() if spec is None else spec
    config = spec["x-cors"]
    return Cors(config["allowOrigins"], config["allowMethods"], config["allowHeaders"], config["exposeHeaders"],
                config["maxAge"])


def response_headers(spec=None):
    """Every header a response of `spec` declares, lower-case."""
    spec = load_spec() if spec is None else spec
    found = set()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                for response in operation.get("responses", {}).values():
                    found.update(name.lower() for name in response.get("headers", {}))
    return found


def check_functions(api_routes, http_functions):
    """Every route's function is one the stack defines, and every HTTP function the stack defines serves a
    route: raises ValueError naming whatever is unpaired."""
    served = {route.function for route in api_routes}
    defined = set(http_functions)
    problems = []
    if served - defined:
        problems.append(f"operations name functions the stack does not define: {sorted(served - defined)}")
    if defined - served:
        problems.append(f"functions that serve no operation: {sorted(defined - served)}")
    if problems:
        raise ValueError("; ".join(problems))
