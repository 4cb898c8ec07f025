#!/usr/bin/env bash
# Runs a command against a fresh local server (`debts-local` on a free 127.0.0.1 port, a temporary data
# directory), with API_URL pointing at it, and stops the server by PID however the command ends.
#
#   scripts/with-local-server.sh python3 scripts/smoke.py all
#
# SERVER_PROFILE=release runs the release build (the benchmarks), SERVER_PROFILE=profiling the release build
# with symbols (scripts/profile-gateway.sh); the default is the debug build. STORE=dynamodb runs it on a new
# table of its own in DynamoDB Local (start the services first: scripts/with-test-services.sh); the default is
# SQLite. The command also gets SERVER_PID, the server's process id, and SERVER_DATA_DIR, its data directory
# (where notice emails land, in outbox/). The notice sweep runs every second (NOTICE_SWEEP_SECS).
set -euo pipefail

profile=${SERVER_PROFILE:-debug}
cargo build --quiet -p local --bin debts-local --profile "$([ "$profile" = debug ] && echo dev || echo "$profile")"
data_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
store_args=()
if [ "${STORE:-sqlite}" = dynamodb ]; then
  store_args=(--store dynamodb --table "local-$(basename "$data_dir" | tr -dc 'a-zA-Z0-9')" --create-table)
fi
PORT=$port DATA_DIR=$data_dir PASSWORD_HASH_ITERATIONS=${PASSWORD_HASH_ITERATIONS:-100000} \
  NOTICE_SWEEP_SECS=${NOTICE_SWEEP_SECS:-1} \
  "target/$profile/debts-local" "${store_args[@]}" > "$data_dir/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data_dir"
}
trap cleanup EXIT
for _ in $(seq 1 1200); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$data_dir/server.log" >&2; exit 1; }
  sleep 0.1
done
API_URL="http://127.0.0.1:$port" SERVER_PID=$server SERVER_DATA_DIR=$data_dir "$@"
