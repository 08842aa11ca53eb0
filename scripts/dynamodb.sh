#!/usr/bin/env bash
# `make dynamodb`: only DynamoDB Local, in memory, in the foreground (for `cargo test` by hand).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${DYNAMODB_PORT:-8000}"
ensure_dynamodb_local
dynamodb_local_command "$PORT"
log "DynamoDB Local on 127.0.0.1:$PORT; export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$PORT AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1"
exec "${DYNAMODB_CMD[@]}"
