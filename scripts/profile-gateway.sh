#!/usr/bin/env bash
# Where the local gateway's time goes: a release build with symbols (`--profile profiling`) serves
# GET /debts/{id} to `debts-hammer` (32 connections, 8 s) while `perf record` samples the server for 4 s of
# it; then the server's CPU time per request and perf's flat profile (self time per symbol) are printed.
# Needs `perf` (Debian's linux-perf). OUT names the perf data file (default /tmp/gateway.perf.data), for
# `perf report -i` afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SERVER_PID:-}" ]; then
  cargo build --profile profiling --quiet -p local -p bench --bins
  exec env SERVER_PROFILE=profiling scripts/with-local-server.sh "$0"
fi

out=${OUT:-/tmp/gateway.perf.data}
ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
(sleep 3; perf record -F 2000 -g --call-graph dwarf,16384 -p "$SERVER_PID" -o "$out" -- sleep 4 >/dev/null 2>&1) &
recorder=$!
before=$(ticks)
result=$(target/profiling/debts-hammer --url "$API_URL" --target gateway --connections 32 --seconds 8)
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
