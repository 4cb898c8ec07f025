"""The lake's columns, derived from the event contract (docs/schemas/envelope.schema.json), so that the Glue
table on AWS and the Parquet files written locally have one definition and cannot drift from the events.

A lake row is one event: the envelope's fields as columns (`event_type` and the day of `occurred_at` are the
partition columns, in the path, not in the files) and `data`, a struct of every field of every event type
(null where an event type has no such field). Types follow the contract: a decimal string is
decimal(38,10) (amounts have 2 places and rates 4, and every amount the API accepts is far below 10^28), a
`date` string a date, a `date-time` a timestamp (UTC), a personal field the sealed struct {enc, kid, v}
(the same ciphertext as in the table; the plain values of schema version 1 events become nulls), an
array an array, an object a struct of its properties, an enum a string.
"""

import json
from dataclasses import dataclass
from pathlib import Path

CONTRACT = Path(__file__).resolve().parents[1] / "docs" / "schemas" / "envelope.schema.json"
DECIMAL_PATTERN = "^-?[0-9]+(\\.[0-9]+)?$"
DECIMAL = "decimal(38,10)"
# The partition columns, in path order: `event_date=YYYY-MM-DD/event_type=PaymentRecorded/`.
PARTITIONS = ("event_date", "event_type")


@dataclass(frozen=True)
class LakeType:
    """A column's type: a scalar (`string`, `bigint`, `int`, `date`, `timestamp`, `decimal(38,10)`), an
    array of one type, or a struct of named fields."""
    scalar: str | None = None
    item: "LakeType | None" = None
    fields: tuple[tuple[str, "LakeType"], ...] | None = None

    def hive(self) -> str:
        """Glue's (Hive's) spelling, which Athena reads."""
        if self.item is not None:
            return f"array<{self.item.hive()}>"
        if self.fields is not None:
            return "struct<" + ",".join(f"{name}:{t.hive()}" for name, t in self.fields) + ">"
        return self.scalar

    def duckdb(self) -> str:
        if self.item is not None:
            return f"{self.item.duckdb()}[]"
        if self.fields is not None:
            return "STRUCT(" + ", ".join(f'"{name}" {t.duckdb()}' for name, t in self.fields) + ")"
        return {"string": "VARCHAR", "bigint": "BIGINT", "int": "INTEGER", "date": "DATE",
                "timestamp": "TIMESTAMP"}.get(self.scalar, self.scalar.upper())

    def structure(self):
        """The shape DuckDB's `json_transform` reads a JSON value into (a value that does not fit, such as a
        version 1 plain personal field, becomes null rather than failing the file)."""
        if self.item is not None:
            return [self.item.structure()]
        if self.fields is not None:
            return {name: t.structure() for name, t in self.fields}
        return self.duckdb()


def scalar(name):
    return LakeType(scalar=name)


SEALED = LakeType(fields=(("enc", scalar("string")), ("kid", scalar("string")), ("v", scalar("bigint"))))


class Contract:
    def __init__(self, path: Path = CONTRACT):
        self.document = json.loads(path.read_text())
        self.defs = self.document["$defs"]

    def resolve(self, schema):
        while "$ref" in schema:
            schema = self.defs[schema["$ref"].split("/")[-1]]
        return schema

    def type_of(self, schema) -> LakeType:
        if schema.get("$ref", "").endswith("/Personal"):
            return SEALED
        schema = self.resolve(schema)
        for union in ("anyOf", "oneOf"):
            if union in schema:
                branches = [b for b in schema[union] if b.get("type") != "null"]
                types = {self.type_of(b) for b in branches}
                if len(types) != 1:
                    raise ValueError(f"a union of several types has no lake column: {schema}")
                return types.pop()
        kind = schema.get("type")
        if isinstance(kind, list):
            [kind] = [k for k in kind if k != "null"]
        if kind == "string":
            if schema.get("pattern") == DECIMAL_PATTERN:
                return scalar(DECIMAL)
            return scalar({"date": "date", "date-time": "timestamp"}.get(schema.get("format"), "string"))
        if kind == "integer":
            return scalar("bigint")
        if kind == "boolean":
            return scalar("boolean")
        if kind == "array":
            return LakeType(item=self.type_of(schema["items"]))
        if kind == "object" and "properties" in schema:
            return LakeType(fields=tuple((name, self.type_of(p)) for name, p in schema["properties"].items()))
        raise ValueError(f"no lake column for {schema}")

    def event_types(self) -> list[str]:
        return [branch["properties"]["event_type"]["const"] for branch in self.document["oneOf"]]

    def data_type(self) -> LakeType:
        """The struct of every event type's fields; a field two types share must have one type in both, or
        be two structs, which merge."""
        fields: dict[str, LakeType] = {}
        for branch in self.document["oneOf"]:
            data = self.resolve(branch["properties"]["data"])
            for name, schema in data.get("properties", {}).items():
                fields[name] = merge(name, fields.get(name), self.type_of(schema))
        return LakeType(fields=tuple(sorted(fields.items())))

    def columns(self) -> list[tuple[str, LakeType]]:
        """The columns of a lake file, in order: the envelope's, then `data`."""
        envelope = [(name, self.type_of(schema)) for name, schema in self.document["properties"].items()]
        return envelope + [("data", self.data_type())]


def merge(name, known: LakeType | None, new: LakeType) -> LakeType:
    if known is None or known == new:
        return new
    if known.fields is not None and new.fields is not None:
        fields = dict(known.fields)
        for field, t in new.fields:
            fields[field] = merge(f"{name}.{field}", fields.get(field), t)
        return LakeType(fields=tuple(sorted(fields.items())))
    raise ValueError(f"{name} has two types in the contract: {known.hive()} and {new.hive()}")
