"""What each Lambda function asks of AWS, as the test suites recorded it (`infrastructure/footprint.json`), and
the IAM statements that allow exactly that: the stack builds every function's own permissions from here and
from nothing else.

The Rust test kit records each call (`tests/src/footprint.rs`): the IAM action, the resource by its role
(`table`, `data-keys`, `auth-secret`, `bus`), the partition-key family of each item it touches and
the KMS encryption context's keys. `make footprint` merges a run's records into the file; `make test` fails
when a run records a use the file lacks, or the file holds one no run made (`scripts/footprint.py check`)."""

import json
from dataclasses import dataclass
from pathlib import Path

FILE = Path(__file__).resolve().parent.parent / "footprint.json"


@dataclass(frozen=True)
class Grant:
    """One action on one resource: on these partition families (None: every partition, as a scan reads),
    with these encryption-context keys (KMS)."""
    action: str
    resource: str
    partitions: tuple[str, ...] | None = None
    context: tuple[str, ...] = ()

    def as_json(self):
        found = {"action": self.action, "resource": self.resource}
        if self.action.startswith("dynamodb:"):
            found["partitions"] = list(self.partitions) if self.partitions is not None else None
        if self.context:
            found["context"] = list(self.context)
        return found


def merge(records):
    """The grants per function that a run's records (dicts as the recorder writes them) need, sorted."""
    merged = {}
    for record in records:
        function = merged.setdefault(record["function"], {})
        key = (record["action"], record["resource"], tuple(record.get("context", ())))
        partition = record.get("partition")
        if not record["action"].startswith("dynamodb:"):
            function[key] = None  # no partitions outside the table
        elif partition is None:
            function[key] = None  # a scan: every partition
        elif key in function and function[key] is None:
            continue
        else:
            function.setdefault(key, set())
            if partition is not None:
                function[key].add(partition)
    return {
        name: sorted((Grant(action, resource, tuple(sorted(parts)) if parts is not None else None, context)
                      for (action, resource, context), parts in grants.items()),
                     key=lambda g: (g.resource, g.action))
        for name, grants in sorted(merged.items())
    }


def read_records(directory):
    """Every record the processes of a run wrote to `directory` (one JSON line per use)."""
    records = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        records.extend(json.loads(line) for line in path.read_text().splitlines() if line.strip())
    return records


ABOUT = ("What each Lambda function asks of AWS, recorded by the test suites (make footprint writes this file; "
         "make test fails when a run and this file disagree). infrastructure/components/footprint.py turns it "
         "into each function's IAM policy.")


def dump(grants):
    """The file's text: one grant per line, so a review reads each permission that changed."""
    functions = ",\n".join(
        f"  {json.dumps(name)}: [\n" + ",\n".join(f"   {json.dumps(g.as_json())}" for g in found) + "\n  ]"
        for name, found in grants.items())
    return f'{{\n "about": {json.dumps(ABOUT)},\n "functions": {{\n{functions}\n }}\n}}\n'


def load(path=FILE):
    """The committed footprint: grants per function."""
    document = json.loads(Path(path).read_text())
    return {
        name: [Grant(g["action"], g["resource"],
                     tuple(g["partitions"]) if g.get("partitions") is not None else None,
                     tuple(g.get("context", ())))
               for g in found]
        for name, found in document["functions"].items()
    }


def differences(recorded, committed):
    """What a run used that the file lacks, and what the file grants that no run used, as lines."""
    def flat(grants):
        uses = set()
        for function, found in grants.items():
            for g in found:
                for partition in (g.partitions if g.partitions is not None else (None,)):
                    uses.add((function, g.action, g.resource, partition, g.context))
        return uses

    ran, filed = flat(recorded), flat(committed)
    describe = lambda use: " ".join(str(part) for part in use if part not in (None, ()))
    return ([f"recorded but not in footprint.json: {describe(u)}" for u in sorted(ran - filed, key=str)]
            + [f"in footprint.json but no test used it: {describe(u)}" for u in sorted(filed - ran, key=str)])


def statements(grants, resources):
    """The IAM statements that allow `grants` and nothing more. `resources` maps a resource role to its ARN (a
    Pulumi output is fine). Table actions are pinned to their partition families with `dynamodb:LeadingKeys`
    (actions with the same families share a statement); KMS actions require exactly the recorded context keys,
    each present (`ForAllValues` alone would also admit a call with none: an absent key satisfies it)."""
    grouped = {}
    for g in grants:
        if g.action.startswith("dynamodb:"):
            key = ("dynamodb", g.resource, g.partitions)
        elif g.action.startswith("kms:"):
            key = ("kms", g.resource, g.context)
        else:
            key = ("other", g.resource, None)
        grouped.setdefault(key, set()).add(g.action)
    found = []
    for (kind, resource, detail), actions in grouped.items():
        statement = {"Effect": "Allow", "Action": sorted(actions), "Resource": [resources[resource]]}
        if kind == "dynamodb" and detail is not None:
            statement["Condition"] = {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{family}*" for family in detail]}}
        if kind == "kms":
            statement["Condition"] = {
                "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": list(detail)},
                "Null": {f"kms:EncryptionContext:{key}": "false" for key in detail}}
        found.append(statement)
    return found
