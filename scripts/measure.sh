#!/usr/bin/env bash
# `make measure`: prints the figures the closing notes quote, from a release build:
#   - release binary sizes of the three functions;
#   - cold-start init time of the token function (process start to "ready", median of 15 starts);
#   - warm password-grant latency through `cargo lambda watch --release` with DynamoDB Local and
#     the dev auth endpoint (median, p90, p99 of 200 sequential requests);
#   - the authorizer's dependency tree holds no AWS SDK crate.
# The authorizer's per-decision cost is a criterion benchmark: `cargo bench -p tollgate-authorizer`.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_cargo_lambda
ensure_dynamodb_local
RUN="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-measure.XXXXXX")"
PGIDS=""
trap stop_all EXIT INT TERM

log "release build"
cargo build --release --workspace --bins --locked

log "release binary sizes"
for b in token authorizer whoami; do
  awk -v b="$b" -v s="$(stat -c %s "target/release/$b")" 'BEGIN { printf "  %-11s %6.1f MiB\n", b, s / 1048576 }'
done
printf '  authorizer dependency tree: %s AWS SDK crates\n' \
  "$(cargo tree -p tollgate-authorizer -e normal --prefix none | grep -cE '^aws-(sdk|config)' || true)"

DDB_PORT="$(free_port)"
DYNAMODB_LOG="$RUN/dynamodb.log" setsid bash -c "source scripts/lib.sh; start_dynamodb_local $DDB_PORT; wait" &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$DDB_PORT" 60 "DynamoDB Local"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export CLIENTS_TABLE=m-clients TOKENS_TABLE=m-tokens LOCKOUTS_TABLE=m-lockouts
target/release/tollgate-admin create-tables >/dev/null
printf '%s' measure-secret-measure-secret-measure-secret | target/release/tollgate-admin create-client \
  --id measure --secret-stdin --scopes "profile" --default-scopes profile >/dev/null
target/release/tollgate-admin generate-key --out "$RUN/key.pem" >/dev/null
AUTH_PORT="$(free_port)"
setsid target/release/dev-auth --listen "127.0.0.1:$AUTH_PORT" --users dev/users.json >/dev/null 2>&1 &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$AUTH_PORT" 30 "dev-auth"
WATCH_PORT="$(free_port)"
BASE="http://127.0.0.1:$WATCH_PORT/lambda-url/token"
cat >"$RUN/token.env" <<ENV
ISSUER=$BASE
AUDIENCE=measure
CLIENTS_TABLE=$CLIENTS_TABLE
TOKENS_TABLE=$TOKENS_TABLE
LOCKOUTS_TABLE=$LOCKOUTS_TABLE
AUTH_ENDPOINT_URL=http://127.0.0.1:$AUTH_PORT/
SIGNING_KEY_FILE=$RUN/key.pem
USER_CLAIMS=email,name
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
NO_COLOR=1
ENV

log "cold-start init of the token function (15 starts)"
# With no runtime API to talk to, the function initialises, logs "ready", then stops.
for _ in $(seq 15); do
  env $(grep -v '^#' "$RUN/token.env" | xargs) AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 AWS_LAMBDA_FUNCTION_NAME=token \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION=1 AWS_LAMBDA_LOG_FORMAT=JSON \
    timeout 10 target/release/token 2>&1 | grep -o '"init_ms":[0-9.]*' | cut -d: -f2 || true
done >"$RUN/init.txt"
python3 - "$RUN/init.txt" <<'PY'
import statistics, sys
v = [float(x) for x in open(sys.argv[1]) if x.strip()]
print(f"  init: median {statistics.median(v):.1f} ms, min {min(v):.1f}, max {max(v):.1f} (n={len(v)})" if v else "  init: no figures")
PY

log "warm password grants through cargo lambda watch --release (200 sequential)"
setsid cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$RUN/token.env" >"$RUN/watch.log" 2>&1 &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$WATCH_PORT" 120 "cargo lambda watch"
warm_up "$BASE/.well-known/jwks.json" "the token function"
for i in $(seq 220); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -u measure:measure-secret-measure-secret-measure-secret \
    -d grant_type=password -d username=demo -d password=demo-password "$BASE/token"
done | tail -200 >"$RUN/latency.txt"
python3 - "$RUN/latency.txt" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ok = sorted(float(t) * 1000 for c, t in rows if c == "200")
bad = len(rows) - len(ok)
q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))]
print(f"  password grant: median {statistics.median(ok):.1f} ms, p90 {q(0.9):.1f}, p99 {q(0.99):.1f} (n={len(ok)}, non-200: {bad})")
PY
