#!/usr/bin/env bash
# Where the local gateway's time goes: a release build with symbols (`--profile profiling`) serves
# GET /debts/{id} to `debts-hammer` (32 connections, 8 s) while `perf record` samples the server for 4 s of
# it; then the server's CPU time per request and perf's flat profile (self time per symbol) are printed.
# Needs `perf` (Debian's linux-perf). OUT names the perf data file (default /tmp/gateway.perf.data), for
# `perf report -i` afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${OUT:-/tmp/gateway.perf.data}
cargo build --profile profiling --quiet -p local --bins
data_dir=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
PORT=$port DATA_DIR=$data_dir PASSWORD_HASH_ITERATIONS=100000 target/profiling/debts-local \
  > "$data_dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$data_dir"' EXIT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
(sleep 3; perf record -F 2000 -g --call-graph dwarf,16384 -p "$server" -o "$out" -- sleep 4 >/dev/null 2>&1) &
recorder=$!
before=$(ticks)
result=$(target/profiling/debts-hammer --url "http://127.0.0.1:$port" --target gateway --connections 32 --seconds 8)
after=$(ticks)
wait $recorder
echo "GET /debts/{id}: $result"
python3 - "$result" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import sys
rate = float(sys.argv[1].split()[0])
seconds = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
print(f"server CPU: {seconds:.1f} s over 8 s of load, {seconds / (rate * 8) * 1e6:.0f} us per request")
PY
perf report -i "$out" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep '%' | head -40
