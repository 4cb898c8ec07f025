#!/usr/bin/env bash
# Projection lag as a client sees it (`make bench-lag`): a fresh release-built local server on each store
# (SQLite, then a table of its own in DynamoDB Local), `debts-lag` sending RATE commands per second for
# SECONDS_EACH seconds (default 150 and 60) and measuring, per accepted command, its answer to the first
# `GET /debts/{id}` that shows its version; then a ramp through RAMP (commands per second, 15 s each) to the
# highest rate whose p99 stays under one second.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=${RATE:-150}
seconds=${SECONDS_EACH:-60}
ramp=${RAMP:-200,300,400,600,800,1000}
cargo build --release --quiet -p local -p bench --bins
lag="target/release/debts-lag --rate $rate --seconds $seconds --ramp $ramp --step-seconds 15"

status=0
SERVER_PROFILE=release scripts/with-local-server.sh sh -c "$lag --url \$API_URL --label sqlite" || status=1
scripts/with-test-services.sh env STORE=dynamodb SERVER_PROFILE=release \
  scripts/with-local-server.sh sh -c "$lag --url \$API_URL --label dynamodb" || status=1
exit $status
