"""Backfill: sends events older than the lake (or any NDJSON export) to the lake's Firehose stream, which
writes them as it writes what the bus delivers. The export must be sealed (`export-events --sealed`): a
personal field that arrives in clear (a schema version 1 event, or an export that opened them) is sent as
null, as the local lake writes it, so no clear personal value reaches the lake.

    backfill.py --stream NAME (--ndjson FILE | --export "COMMAND")

Events already in the lake may be sent again: every query keeps one row per `event_id` (lake/athena.py).
Records go in PutRecordBatch calls of at most 500 records and 4 MiB; records Firehose refuses (throttling)
are sent again with a growing pause, and the run fails if some are still refused after MAX_ATTEMPTS.
https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html
"""

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schema import SEALED, Contract, LakeType  # noqa: E402

MAX_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024
MAX_ATTEMPTS = 8


def conform(value, lake_type: LakeType):
    """`value` with every personal field that is not sealed made null."""
    if value is None:
        return None
    if lake_type == SEALED:
        return value if isinstance(value, dict) and "enc" in value else None
    if lake_type.fields is not None and isinstance(value, dict):
        types = dict(lake_type.fields)
        return {k: conform(v, types[k]) if k in types else v for k, v in value.items()}
    if lake_type.item is not None and isinstance(value, list):
        return [conform(v, lake_type.item) for v in value]
    return value


def records(lines, contract: Contract):
    """Each envelope as the rule delivers it: one JSON line, personal fields sealed or null."""
    data_type = contract.data_type()
    for line in lines:
        if not line.strip():
            continue
        envelope = json.loads(line)
        envelope["data"] = conform(envelope.get("data"), data_type)
        record = (json.dumps(envelope, separators=(",", ":")) + "\n").encode()
        if len(record) > MAX_RECORD_BYTES:
            raise ValueError(f"event {envelope.get('event_id')} is {len(record)} bytes, over Firehose's record limit")
        yield record


def batches(stream_of_records):
    batch, size = [], 0
    for record in stream_of_records:
        if batch and (len(batch) == MAX_RECORDS or size + len(record) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


def send(client, stream: str, batch: list[bytes], pause: float = 0.2) -> int:
    """Puts `batch`, sending again what Firehose refuses; answers how many records were sent again."""
    pending, resent = batch, 0
    for attempt in range(MAX_ATTEMPTS):
        answer = client.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": r} for r in pending])
        if not answer.get("FailedPutCount"):
            return resent
        pending = [r for r, result in zip(pending, answer["RequestResponses"]) if result.get("ErrorCode")]
        resent += len(pending)
        time.sleep(pause * 2 ** attempt)
    raise RuntimeError(f"{len(pending)} records still refused after {MAX_ATTEMPTS} attempts")


def backfill(client, stream: str, lines, contract: Contract | None = None) -> dict:
    started = time.monotonic()
    sent = batches_sent = resent = 0
    for batch in batches(records(lines, contract or Contract())):
        resent += send(client, stream, batch)
        sent += len(batch)
        batches_sent += 1
    return {"sent": sent, "batches": batches_sent, "sent_again": resent,
            "seconds": round(time.monotonic() - started, 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stream", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--ndjson", type=Path)
    source.add_argument("--export", help="a command writing sealed NDJSON to stdout")
    args = parser.parse_args()
    import boto3
    client = boto3.client("firehose")
    if args.ndjson:
        with args.ndjson.open() as lines:
            done = backfill(client, args.stream, lines)
    else:
        with subprocess.Popen(shlex.split(args.export), stdout=subprocess.PIPE, text=True) as exporter:
            done = backfill(client, args.stream, exporter.stdout)
        if exporter.returncode:
            raise SystemExit(f"the export failed ({exporter.returncode}) after {done['sent']} events were sent")
    print(json.dumps(done))


if __name__ == "__main__":
    main()
