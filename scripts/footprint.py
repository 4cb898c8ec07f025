#!/usr/bin/env python3
"""Writes or checks infrastructure/footprint.json from the records a test run left in a directory
(`FOOTPRINT_DIR`, one JSON-lines file per test process).

    footprint.py write DIR   merge DIR's records into infrastructure/footprint.json (make footprint)
    footprint.py check DIR   fail, listing each difference, unless DIR's records equal the file (make test)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infrastructure"))
from components import footprint  # noqa: E402


def main(argv):
    if len(argv) != 3 or argv[1] not in {"write", "check"}:
        sys.exit(__doc__)
    records = footprint.read_records(argv[2])
    if not records:
        sys.exit(f"no footprint records in {argv[2]}: did the DynamoDB and moto suites run with FOOTPRINT_DIR set?")
    recorded = footprint.merge(records)
    if argv[1] == "write":
        footprint.FILE.write_text(footprint.dump(recorded))
        print(f"wrote {footprint.FILE} ({sum(len(g) for g in recorded.values())} grants, {len(recorded)} functions)")
        return
    problems = footprint.differences(recorded, footprint.load())
    if problems:
        print("\n".join(problems))
        sys.exit("the footprint changed: run `make footprint`, review the diff of infrastructure/footprint.json "
                 "(it is every function's permissions) and commit it")
    print(f"footprint: {len(records)} recorded calls, all in infrastructure/footprint.json, every grant used")


if __name__ == "__main__":
    main(sys.argv)
