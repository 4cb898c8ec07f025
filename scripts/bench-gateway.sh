#!/usr/bin/env bash
# GET /debts/{id} through the local gateway (release build, SQLite) next to a bare hyper server answering a
# fixed JSON body, driven by the same client (`debts-hammer`: 32 keep-alive connections, 10 s each), and the
# ratio. `make bench-gateway`; CONNECTIONS and SECONDS override.
set -euo pipefail

connections=${CONNECTIONS:-32}
seconds=${SECONDS_EACH:-10}
cargo build --release --quiet -p local -p bench --bins
here=$(cd "$(dirname "$0")" && pwd)

gateway=$(SERVER_PROFILE=release "$here/with-local-server.sh" sh -c \
  "target/release/debts-hammer --url \$API_URL --target gateway --connections $connections --seconds $seconds")

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
target/release/bare-hyper "$port" &
bare_pid=$!
trap 'kill "$bare_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.05
done
bare=$(target/release/debts-hammer --url "http://127.0.0.1:$port" --target bare --connections "$connections" --seconds "$seconds")

echo "GET /debts/{id} through the local gateway: $gateway"
echo "bare hyper, fixed JSON body:               $bare"
python3 - "$gateway" "$bare" <<'PY'
import json, sys
def figures(line):
    words = line.split()
    return float(words[0]), float(words[words.index("p99") + 1])
(rate, p99), (bare_rate, bare_p99) = figures(sys.argv[1]), figures(sys.argv[2])
print(f"ratio gateway / bare hyper: {rate / bare_rate:.2f} (goal: at least 0.5)")
# The rows of `make bench`'s table (scripts/bench.py).
rows = [
    {"figure": "local gateway GET /debts/{id}, requests/s", "goal": "≥ 0.5× bare hyper",
     "value": f"{rate:,.0f}/s", "reference": f"bare hyper {bare_rate:,.0f}/s", "ratio": round(rate / bare_rate, 3),
     "met": rate >= 0.5 * bare_rate},
    {"figure": "local gateway GET /debts/{id}, p99 at that load", "goal": "< 5 ms",
     "value": f"{p99:.2f} ms", "reference": f"bare hyper {bare_p99:.2f} ms", "ratio": round(p99 / bare_p99, 3),
     "met": p99 < 5.0},
]
for row in rows:
    print("BENCH " + json.dumps(row, ensure_ascii=False))
PY
