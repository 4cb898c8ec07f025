#!/usr/bin/env bash
# Instructions the local gateway runs per GET /debts/{id}, counted by valgrind's callgrind: from the moment
# the HTTP server hands it the request to its answer (routing, the API Gateway event, the authorizer cache,
# the handler, SQLite, the access line), not hyper's parsing or the kernel. A count, not a time: the same
# binary and requests give the same figure on a busy machine, so it shows a change of a few percent that
# requests per second cannot. Two runs of the load (3 s and 9 s, 4 connections) and their difference divide
# out the start-up and the sign-up. Leaves the longer run's profile in OUT (default /tmp/gateway.callgrind)
# for `callgrind_annotate --inclusive=yes`. WHOLE=1 counts the whole process instead (hyper, tokio, the
# log writer's thread): what a request costs the server in all.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gateway.callgrind}
scope=(--toggle-collect='*local::Gateway::handle*')
where="in the gateway"
if [ "${WHOLE:-0}" = 1 ]; then
  scope=()
  where="in the whole server process"
fi
cargo build --profile profiling --quiet -p local -p bench --bins

# Runs the server under callgrind for `$1` seconds of load; prints "instructions requests".
count() {
  local dir port server
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  PORT=$port DATA_DIR=$dir PASSWORD_HASH_ITERATIONS=100000 valgrind --tool=callgrind \
    --callgrind-out-file="$dir/callgrind.out" "${scope[@]}" \
    target/profiling/debts-local > "$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  target/profiling/debts-hammer --url "http://127.0.0.1:$port" --target gateway --connections 4 --seconds "$1" > /dev/null
  kill -INT "$server"
  wait "$server" || true
  local instructions requests
  instructions=$(callgrind_annotate "$dir/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  requests=$(grep -c 'GET /debts/' "$dir/server.log")
  cp "$dir/callgrind.out" "$out"
  rm -rf "$dir"
  echo "$instructions $requests"
}

read -r short short_requests < <(count 3)
read -r long long_requests < <(count 9)
python3 - "$short" "$short_requests" "$long" "$long_requests" "$where" <<'PY'
import sys
short, short_requests, long, long_requests = map(int, sys.argv[1:5])
print(f"{(long - short) / (long_requests - short_requests):,.0f} instructions per GET /debts/{{id}} "
      f"{sys.argv[5]} ({long_requests - short_requests} requests)")
PY
