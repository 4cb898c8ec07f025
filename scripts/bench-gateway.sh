#!/usr/bin/env bash
# GET /debts/{id} through the local gateway (release build, SQLite) next to a bare hyper server answering a
# fixed JSON body, driven by the same client (`debts-hammer`: 32 keep-alive connections, 10 s each), and the
# ratio. `make bench-gateway`; CONNECTIONS and SECONDS override.
set -euo pipefail

connections=${CONNECTIONS:-32}
seconds=${SECONDS_EACH:-10}
cargo build --release --quiet -p local --bins
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
import sys
rate = lambda line: float(line.split()[0])
print(f"ratio gateway / bare hyper: {rate(sys.argv[1]) / rate(sys.argv[2]):.2f} (goal: at least 0.5)")
PY
