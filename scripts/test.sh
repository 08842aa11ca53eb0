#!/usr/bin/env bash
# `make test`: everything, from a fresh clone. Lints (Rust and the SAM templates), unit tests,
# integration tests against DynamoDB Local (started and stopped here), end-to-end tests of
# the functions served by `cargo lambda watch`, the local stack's hygiene (loopback listeners,
# private files, dummy credentials), and a short run of every fuzz target. One debug build is shared by every stage: every
# cargo command here works on the whole workspace, so features resolve the same way and nothing
# is compiled twice.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

START=$SECONDS
stage() { log "$1 (at $((SECONDS - START)) s)"; }

ensure_cargo_lambda
ensure_sam_tools
ensure_dynamodb_local
ensure_moto
ensure_authlib
ensure_chromium
RUN="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-test.XXXXXX")"
PGIDS=""
cleanup() { stop_all; }
trap cleanup EXIT INT TERM

# `make test TEST=name` (or TEST=name bash scripts/test.sh): only the local stack and the
# integration tests whose name contains `name` (several names: TEST="refresh token_"); no
# lints, unit tests, hygiene or fuzz.
ONLY="${TEST:-}"
read -ra FILTERS <<<"$ONLY"

if [[ -z "$ONLY" ]]; then
  stage "cargo fmt --check"
  cargo fmt --all --check
  cargo fmt --manifest-path fuzz/Cargo.toml --check

  stage "cfn-lint and sam validate --lint: ${TEMPLATES[*]}"
  lint_templates

  stage "cargo clippy -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

stage "build (binaries and tests)"
cargo build --workspace --bins --locked
cargo test --workspace --no-run --locked

if [[ -z "$ONLY" ]]; then
  stage "unit tests"
  cargo test --workspace --lib --bins --locked
fi

stage "starting DynamoDB Local"
# Every server here binds its own port and names it (port 0, read back from its log); none is
# given a port that was freed for it and could be taken in between (docs/testing.md).
DYNAMODB_LOG="$RUN/dynamodb.log" setsid bash -c "source scripts/lib.sh; start_dynamodb_local 0; wait" &
PGIDS="$PGIDS $!"
DDB_PORT="$(bound_port "$RUN/dynamodb.log" $! 60 "DynamoDB Local")"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"

stage "starting moto (a local Secrets Manager)"
MOTO_LOG="$RUN/moto.log" setsid bash -c "source scripts/lib.sh; start_moto 0; wait" &
PGIDS="$PGIDS $!"
MOTO_PORT="$(moto_port "$RUN/moto.log" $! 60)"

stage "starting the dev auth endpoint and the token function under cargo lambda watch"
# dev-auth binds port 0 itself and prints the address it got: no port is freed and re-bound.
# --allow-changes: tests change a user's details or status while their session lives.
# --legacy-tokens: it also stands in for the legacy refresh endpoint (issue 21), whose shared
# credential the first instance sends.
LEGACY_CREDENTIAL="e2e-legacy-$RANDOM$RANDOM$RANDOM$RANDOM"
setsid target/debug/dev-auth --listen 127.0.0.1:0 --users tests/fixtures/users.json --allow-changes \
  --legacy-tokens dev/legacy-tokens.json --legacy-credential "$LEGACY_CREDENTIAL" >"$RUN/dev-auth.log" 2>&1 &
PGIDS="$PGIDS $!"
AUTH_PORT="$(bound_port "$RUN/dev-auth.log" $! 30 dev-auth)"

SUFFIX="e2e-$RANDOM$RANDOM"
export CLIENTS_TABLE="clients-$SUFFIX" TOKENS_TABLE="tokens-$SUFFIX" LOCKOUTS_TABLE="lockouts-$SUFFIX" \
  REVOCATIONS_TABLE="revocations-$SUFFIX"
# The served authorizers' freshness bound: short, so the served revocation tests wait little.
REVOCATION_BOUND=2
target/debug/tollgate-admin create-tables >/dev/null
target/debug/tollgate-admin generate-key --out "$RUN/signing-key.pem" >/dev/null
target/debug/tollgate-admin public-jwks --key "$RUN/signing-key.pem" >"$RUN/jwks.json"

# Client secrets written by the admin CLI with this pepper verify in the served function.
PEPPER="e2e-pepper-$RANDOM$RANDOM$RANDOM$RANDOM-0123456789abcdef"
# The "down" auth endpoint: a port held bound but never listening, so connections are refused
# and no other process can start answering there during the run.
hold_closed_port "$RUN/closed-port.log"; PGIDS="$PGIDS $CLOSED_PID"
# Timeouts with margins a loaded two-core machine cannot break: a loopback call to dev-auth or
# DynamoDB Local that should succeed has 5 s, while the auth endpoint's `slow` user answers only
# after 30 s, so its 503 still proves the timeout ended the wait (docs/testing.md).
write_env() { # auth-url issuer [log-level]
  cat <<ENV
ISSUER=$2
AUDIENCE=tollgate-test-api
CLIENTS_TABLE=$CLIENTS_TABLE
TOKENS_TABLE=$TOKENS_TABLE
LOCKOUTS_TABLE=$LOCKOUTS_TABLE
REVOCATIONS_TABLE=$REVOCATIONS_TABLE
REVOCATION_MAX_STALENESS_SECONDS=$REVOCATION_BOUND
REVOCATION_UNAVAILABLE_MAX_SECONDS=${REVOCATION_UNAVAILABLE_MAX:-300}
AUTH_ENDPOINT_URL=$1
AUTH_ENDPOINT_TIMEOUT_MS=5000
AUTH_ENDPOINT_CONNECT_TIMEOUT_MS=2000
DYNAMODB_TIMEOUT_MS=${DDB_TIMEOUT_MS:-5000}
SIGNING_KEY_FILE=$RUN/signing-key.pem
USER_CLAIMS=email,name,groups
JWKS_FILE=$RUN/jwks.json
ROUTE_SCOPES="GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin; GET /request=profile"
HTTP_API_RESPONSE=simple
LOCKOUT_MAX_FAILURES=3
CLIENT_SECRET_PEPPER=$PEPPER
LOCKOUT_WINDOW_SECONDS=300
LOCKOUT_DURATION_SECONDS=300
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
RUST_LOG=${3:-debug}
NO_COLOR=1
ENV
}
# The issuer is the served base URL, which names the port: each env file is written for the
# port being tried, before cargo lambda watch starts there. The first instance also asks
# dev-auth's user-status call on every refresh; the second has no user-status endpoint, so its
# refreshes need no outside call (the log test relies on it). Only the first accepts legacy
# refresh tokens (dev-auth's /legacy/refresh, dev/legacy-tokens.json).
token_env() { { write_env "http://127.0.0.1:$AUTH_PORT/" "http://127.0.0.1:$1/lambda-url/token"; echo "USER_STATUS_URL=http://127.0.0.1:$AUTH_PORT/status"; echo "LEGACY_REFRESH_URL=http://127.0.0.1:$AUTH_PORT/legacy/refresh"; echo "LEGACY_REFRESH_CREDENTIAL=$LEGACY_CREDENTIAL"; } | write_private "$RUN/token.env"; }
# The second instance logs at TRACE, so the log test proves no level leaks a secret.
down_env() { write_env "http://127.0.0.1:$CLOSED_PORT/" "http://127.0.0.1:$1/lambda-url/token" trace | write_private "$RUN/token-down.env"; }
start_watch_any_port "$RUN/token.env" "$RUN/watch.log" token_env; PGIDS="$PGIDS $WATCH_PID"
BASE="http://127.0.0.1:$WATCH_PORT/lambda-url/token"
MAIN_PORT="$WATCH_PORT"
warm_up "$BASE/.well-known/jwks.json" "the token function (log: $RUN/watch.log)"
warm_up_invoke "http://127.0.0.1:$WATCH_PORT" authorizer "the authorizer (log: $RUN/watch.log)" tests/fixtures/events/sam-rest-token.json
warm_up_invoke "http://127.0.0.1:$WATCH_PORT" whoami "the demo backend (log: $RUN/watch.log)" tests/fixtures/events/sam-rest-proxy.json
start_watch_any_port "$RUN/token-down.env" "$RUN/watch-down.log" down_env; PGIDS="$PGIDS $WATCH_PID"
DOWN_PORT="$WATCH_PORT" WATCH_PORT="$MAIN_PORT"
DOWN_BASE="http://127.0.0.1:$DOWN_PORT/lambda-url/token"
warm_up "$DOWN_BASE/.well-known/jwks.json" "the token function with its auth endpoint down"
warm_up_invoke "http://127.0.0.1:$DOWN_PORT" authorizer "the authorizer of the TRACE instance (log: $RUN/watch-down.log)" tests/fixtures/events/sam-rest-token.json

stage "the fault instance: the token function behind the fault proxy (tools/ddb-proxy)"
# The proxy binds both its ports itself and prints them, like dev-auth. The third instance of
# the token function reaches DynamoDB Local only through it, in tables of its own, so the
# tests can lose the answer of one write or stall DynamoDB without touching the other tests
# (docs/testing.md). Its DynamoDB calls have the deployed default, 2 s (the others here: 5 s), so
# a 5 s stall times out every call caught in it. Its lost-answer window covers the worst case of
# a rotation whose every answer is lost: the function sends it 9 times (2 s each at most, 4.6 s
# of pauses) before it answers 503 (here, unlike in Lambda, no 10 s function timeout ends that
# sooner), then the Retry-After (5 s), and a margin for the queue at 64 concurrent clients; and
# it is short enough for a test to wait it out.
setsid target/debug/ddb-proxy --upstream "$AWS_ENDPOINT_URL_DYNAMODB" >"$RUN/ddb-proxy.log" 2>&1 &
PROXY_PID=$!
PGIDS="$PGIDS $PROXY_PID"
PROXY_PORT="$(bound_port "$RUN/ddb-proxy.log" "$PROXY_PID" 30 ddb-proxy)"
PROXY_CONTROL="http://127.0.0.1:$(bound_port "$RUN/ddb-proxy.log" "$PROXY_PID" 30 "ddb-proxy control" 'control on http://127\.0\.0\.1:[0-9]*/')"
FAULT_WINDOW=35
FAULT_SUFFIX="fault-$RANDOM$RANDOM"
FAULT_CLIENTS="clients-$FAULT_SUFFIX" FAULT_TOKENS="tokens-$FAULT_SUFFIX" FAULT_REVOCATIONS="revocations-$FAULT_SUFFIX"
CLIENTS_TABLE="$FAULT_CLIENTS" TOKENS_TABLE="$FAULT_TOKENS" LOCKOUTS_TABLE="lockouts-$FAULT_SUFFIX" \
  REVOCATIONS_TABLE="$FAULT_REVOCATIONS" target/debug/tollgate-admin create-tables >/dev/null
# Its authorizer reads the revocation state through the proxy too; with the default
# REVOCATION_UNAVAILABLE=allow, the last state read decides for 8 s when no read succeeds (the
# unreadable-state test waits that out), then valid tokens are refused.
FAULT_REVOCATION_STALE_FOR=8
fault_env() {
  {
    CLIENTS_TABLE="$FAULT_CLIENTS" TOKENS_TABLE="$FAULT_TOKENS" LOCKOUTS_TABLE="lockouts-$FAULT_SUFFIX" \
      REVOCATIONS_TABLE="$FAULT_REVOCATIONS" REVOCATION_UNAVAILABLE_MAX="$FAULT_REVOCATION_STALE_FOR" \
      AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$PROXY_PORT" DDB_TIMEOUT_MS=2000 \
      write_env "http://127.0.0.1:$AUTH_PORT/" "http://127.0.0.1:$1/lambda-url/token" info
    echo "LOST_ANSWER_WINDOW_SECONDS=$FAULT_WINDOW"
    echo "LEGACY_REFRESH_URL=http://127.0.0.1:$AUTH_PORT/legacy/refresh"
    echo "LEGACY_REFRESH_CREDENTIAL=$LEGACY_CREDENTIAL"
    # JSON lines, as the template's LogFormat: JSON makes them in Lambda: what the cost test
    # counts as the bytes CloudWatch Logs ingests.
    echo "AWS_LAMBDA_LOG_FORMAT=JSON"
  } | write_private "$RUN/token-fault.env"
}
start_watch_any_port "$RUN/token-fault.env" "$RUN/watch-fault.log" fault_env; PGIDS="$PGIDS $WATCH_PID"
FAULT_PORT="$WATCH_PORT" WATCH_PORT="$MAIN_PORT"
FAULT_BASE="http://127.0.0.1:$FAULT_PORT/lambda-url/token"
warm_up "$FAULT_BASE/.well-known/jwks.json" "the token function behind the fault proxy (log: $RUN/watch-fault.log)"

stage "local stack: every listener started here is on loopback"
# DynamoDB Local, moto, dev-auth, the fault proxy's two ports and the three cargo lambda watch
# servers: at least eight listeners.
# shellcheck disable=SC2086
bash scripts/test-local-stack.sh listeners 8 $PGIDS

stage "integration and end-to-end tests"
TOLLGATE_E2E_URL="$BASE" \
TOLLGATE_E2E_AUTH_URL="http://127.0.0.1:$AUTH_PORT" \
TOLLGATE_E2E_AUTH_DOWN_URL="$DOWN_BASE" \
TOLLGATE_E2E_CLIENTS_TABLE="$CLIENTS_TABLE" \
TOLLGATE_E2E_TOKENS_TABLE="$TOKENS_TABLE" \
TOLLGATE_E2E_REVOCATIONS_TABLE="$REVOCATIONS_TABLE" \
TOLLGATE_E2E_REVOCATION_BOUND="$REVOCATION_BOUND" \
TOLLGATE_E2E_LOCKOUTS_TABLE="$LOCKOUTS_TABLE" \
TOLLGATE_E2E_ISSUER="$BASE" \
TOLLGATE_E2E_AUDIENCE=tollgate-test-api \
TOLLGATE_E2E_LOG="$RUN/watch.log" \
TOLLGATE_E2E_AUTH_DOWN_LOG="$RUN/watch-down.log" \
TOLLGATE_E2E_PEPPER="$PEPPER" \
TOLLGATE_E2E_SIGNING_KEY="$RUN/signing-key.pem" \
TOLLGATE_E2E_AUTH_DOWN_INVOKE_URL="http://127.0.0.1:$DOWN_PORT" \
TOLLGATE_E2E_INVOKE_URL="http://127.0.0.1:$WATCH_PORT" \
TOLLGATE_E2E_FAULT_URL="$FAULT_BASE" \
TOLLGATE_E2E_FAULT_CLIENTS_TABLE="$FAULT_CLIENTS" \
TOLLGATE_E2E_FAULT_TOKENS_TABLE="$FAULT_TOKENS" \
TOLLGATE_E2E_FAULT_REVOCATIONS_TABLE="$FAULT_REVOCATIONS" \
TOLLGATE_E2E_FAULT_INVOKE_URL="http://127.0.0.1:$FAULT_PORT" \
TOLLGATE_E2E_FAULT_REVOCATION_STALE_FOR="$FAULT_REVOCATION_STALE_FOR" \
TOLLGATE_E2E_FAULT_LOG="$RUN/watch-fault.log" \
TOLLGATE_E2E_FAULT_PROXY_URL="$PROXY_CONTROL" \
TOLLGATE_E2E_FAULT_LOST_ANSWER_WINDOW="$FAULT_WINDOW" \
TOLLGATE_E2E_SOAK_REPORT="$RUN/soak.txt" \
TOLLGATE_E2E_COST_REPORT="$RUN/cost.json" \
TOLLGATE_ADMIN_BIN="$ROOT/target/debug/tollgate-admin" \
TOLLGATE_PYTHON="$VENV/bin/python" \
AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT" \
  cargo test --workspace --test it --locked -- "${FILTERS[@]}"
# The soak's figures (tests/it/fault/soak.rs), when it ran.
if [[ -f "$RUN/soak.txt" ]]; then log "$(cat "$RUN/soak.txt")"; fi
# The bill per operation and per monthly active user (tests/it/fault/cost.rs, measure/cost.py).
if [[ -f "$RUN/cost.json" ]]; then python3 measure/cost.py "$RUN/cost.json"; fi

if [[ -n "$ONLY" ]]; then
  stage "the integration tests matching '$ONLY' passed (TEST set: lints, unit tests, hygiene and fuzz skipped)"
  exit 0
fi

stage "local stack hygiene: remote DynamoDB refused; make dev's files, credentials and listeners"
bash scripts/test-local-stack.sh endpoint
bash scripts/test-local-stack.sh dev

stage "fuzz smoke: each target for ${FUZZ_SMOKE_SECONDS:=20} s"
FUZZ_SECONDS="$FUZZ_SMOKE_SECONDS" bash scripts/fuzz.sh

stage "all tests passed"
