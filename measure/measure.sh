#!/usr/bin/env bash
# `make measure`: prints the figures docs/performance.md quotes, from a release build:
#   - binary sizes: x86_64 (this machine) and arm64 (`cargo lambda build --release --arm64` in
#     each function's directory, what `sam build` ships; MEASURE_ARM64=0 skips that cross
#     build), and which HTTP/TLS crates each function carries;
#   - cold start through a local Lambda Runtime API (measure/coldstart.py): exec -> ready, exec ->
#     first answer and peak RSS, median of COLD_RUNS (15) starts, for the token function (key
#     from a file, and from Secrets Manager served by moto), the authorizer, and the Node peer
#     (measure/node/peer.cjs: aws-jwt-verify, pinned) deciding the same token as it does;
#   - revocation (measure/revocation_reach.py; MEASURE_REVOCATION=0 skips it): how long a
#     `POST /revoke` takes to reach 8 warm authorizer processes (p50/p99 over REACH_TRIALS
#     sessions) and their reads per refresh interval; what revocation adds to the p99 of 10,000
#     warm decisions spanning several refresh intervals;
#   - the warm password grant (200 in one process, through the Runtime API) next to each of its
#     I/O calls and its dependent chain;
#   - the sign-in page (200 warm GET /authorize) next to its one read, and 200 warm code exchanges
#     next to their dependent I/O chain;
#   - the warm password grant through `cargo lambda watch --release` (the figure issue 12 started
#     from);
#   - warm and cold figures under a CPU quota emulating 128, 256 and 512 MB on Lambda (1,769 MB
#     = 1 vCPU), priced per million requests (needs root and cgroup v1's `cpu` controller;
#     MEASURE_COST=0 skips it).
# The authorizer's per-decision cost is a criterion benchmark: `make bench`.
# MEASURE_BIN_DIR=dir measures the token, authorizer and whoami binaries in dir instead (e.g. a
# copy of an earlier build, for a before/after): no arm64 or `cargo lambda watch` figures then.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_cargo_lambda
ensure_dynamodb_local
ensure_moto
ensure_node_peer
RUN="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-measure.XXXXXX")"
PGIDS=""
trap stop_all EXIT INT TERM
COLD_RUNS="${COLD_RUNS:-15}"
HARNESS=(python3 measure/coldstart.py)
LIB=(python3 measure/measure_lib.py)
# AWS Lambda, arm64, US East (N. Virginia), from https://aws.amazon.com/lambda/pricing/
# (first 7.5 billion GB-seconds a month), as read on 2026-11-26.
PRICE_GB_S=0.0000133334
PRICE_REQ=0.20
# aws-jwt-verify, as pinned for the Node peer (measure/node/package.json).
JWT_VERIFY_VERSION="$(node -p 'require("./measure/node/package.json").dependencies["aws-jwt-verify"]')"

BIN="${MEASURE_BIN_DIR:-target/release}"
if [[ -n "${MEASURE_BIN_DIR:-}" ]]; then
  MEASURE_ARM64=0 MEASURE_WATCH=0
  for b in token authorizer tollgate-admin dev-auth; do
    [[ -x "$BIN/$b" ]] || die "MEASURE_BIN_DIR=$BIN has no $b"
  done
else
  log "release build"
  # Each function alone, as `sam build` builds it: a workspace build would unify features (the
  # admin CLI's SDK HTTPS client) into the functions.
  for p in tollgate-token tollgate-authorizer tollgate-whoami; do cargo build --release --locked -p "$p"; done
  cargo build --release --locked -p tollgate-admin -p tollgate-dev-auth
fi

log "binary sizes"
mib() { awk -v s="$(stat -c %s "$1")" 'BEGIN { printf "%.2f", s / 1048576 }'; }
for b in token authorizer whoami; do
  [[ -f "$BIN/$b" ]] || continue
  printf '  x86_64 %-11s %6s MiB\n' "$b" "$(mib "$BIN/$b")"
done
if [[ "${MEASURE_ARM64:-1}" == 1 ]]; then
  # Each function in its own directory, as `sam build` builds it (CodeUri): one build of both
  # binaries from the workspace root would unify the features of every member (the admin CLI's
  # SDK HTTPS client, HTTP/2) into both.
  for b in token authorizer; do
    (cd "functions/$b" && cargo lambda build --release --arm64 --locked --bin "$b") >>"$RUN/arm64.log" 2>&1 \
      || { tail -30 "$RUN/arm64.log"; die "arm64 build of $b failed"; }
  done
  for b in token authorizer; do
    python3 -c 'import io, sys, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], "bootstrap")
print(f"{len(b.getvalue()) / 1048576:.2f}")' "target/lambda/$b/bootstrap" >"$RUN/zip-$b"
    printf '  arm64  %-11s %6s MiB (zip %s MiB)\n' "$b" "$(mib "target/lambda/$b/bootstrap")" "$(cat "$RUN/zip-$b")"
  done
fi
# What this source tree links (not said for MEASURE_BIN_DIR's binaries, which may be older).
for p in tollgate-token tollgate-authorizer; do
  [[ -z "${MEASURE_BIN_DIR:-}" ]] || break
  cargo tree -p "$p" -e normal --prefix none --locked >"$RUN/tree-$p.txt"
  printf '  %-20s AWS SDK crates: %s; HTTP/TLS crates: %s\n' "$p" \
    "$(grep -oE '^aws-(sdk-[a-z]+|config) ' "$RUN/tree-$p.txt" | sort -u | tr -d ' ' | paste -sd, || true)" \
    "$(grep -oE '^(reqwest|hyper-rustls|aws-smithy-http-client|rustls-native-certs|rustls-platform-verifier|webpki-roots|regex) ' "$RUN/tree-$p.txt" | sort -u | tr -d ' ' | paste -sd, || true)"
done

log "local stack: DynamoDB Local, moto, dev-auth"
DDB_PORT="$(free_port)"
DYNAMODB_LOG="$RUN/dynamodb.log" setsid bash -c "source scripts/lib.sh; start_dynamodb_local $DDB_PORT; wait" &
PGIDS="$PGIDS $!"
MOTO_PORT="$(free_port)"
MOTO_LOG="$RUN/moto.log" setsid bash -c "source scripts/lib.sh; start_moto $MOTO_PORT; wait" &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$DDB_PORT" 60 "DynamoDB Local"
wait_for_port 127.0.0.1 "$MOTO_PORT" 60 "moto"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
export CLIENTS_TABLE=m-clients TOKENS_TABLE=m-tokens LOCKOUTS_TABLE=m-lockouts REVOCATIONS_TABLE=m-revocations
SECRET=measure-secret-measure-secret-measure-secret
# (The admin CLI's audit lines go to $RUN/admin.log.)
"$BIN/tollgate-admin" create-tables >/dev/null 2>>"$RUN/admin.log"
# Every process started below gets this script's environment plus its env file: the revocations
# table stays unexported, so an authorizer is "revocation on" only through its env file (an
# inherited REVOCATIONS_TABLE turned the "off" runs on).
export -n REVOCATIONS_TABLE
printf '%s' "$SECRET" | "$BIN/tollgate-admin" create-client \
  --id measure --secret-stdin --scopes "profile" --default-scopes profile >/dev/null 2>>"$RUN/admin.log"
"$BIN/tollgate-admin" generate-key --out "$RUN/key.pem" >/dev/null 2>>"$RUN/admin.log"
"$BIN/tollgate-admin" public-jwks --key "$RUN/key.pem" >"$RUN/jwks.json" 2>>"$RUN/admin.log"
KEY_ARN="$(AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$MOTO_PORT" \
  "$BIN/tollgate-admin" generate-key --secret-name measure-signing-key 2>>"$RUN/admin.log" | grep -o 'arn:aws:secretsmanager:[^ ]*' | head -1)"
[[ -n "$KEY_ARN" ]] || die "could not store a signing key in moto"
setsid "$BIN/dev-auth" --listen 127.0.0.1:0 --users dev/users.json >"$RUN/dev-auth.log" 2>&1 &
PGIDS="$PGIDS $!"
AUTH_PORT="$(bound_port "$RUN/dev-auth.log" $! 30 dev-auth)"
ISSUER="https://measure.example/prod"
common_env() {
  cat <<ENV
ISSUER=$ISSUER
AUDIENCE=measure
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
NO_COLOR=1
ENV
}
{ common_env; cat <<ENV; } >"$RUN/token.env"
CLIENTS_TABLE=$CLIENTS_TABLE
TOKENS_TABLE=$TOKENS_TABLE
LOCKOUTS_TABLE=$LOCKOUTS_TABLE
REVOCATIONS_TABLE=$REVOCATIONS_TABLE
AUTH_ENDPOINT_URL=http://127.0.0.1:$AUTH_PORT/
USER_CLAIMS=email,name
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
ENV
{ cat "$RUN/token.env"; echo "SIGNING_KEY_FILE=$RUN/key.pem"; } >"$RUN/token-file.env"
{ cat "$RUN/token.env"; echo "SIGNING_KEY_SECRET_ARN=$KEY_ARN"
  echo "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$MOTO_PORT"; } >"$RUN/token-sm.env"
{ common_env; echo "JWKS_FILE=$RUN/jwks.json"; echo 'ROUTE_SCOPES=GET /orders/*=profile'; } >"$RUN/authorizer.env"
# The same authorizer with revocation on, reading the revocations table of DynamoDB Local
# (plain HTTP on loopback; in AWS, HTTPS to DynamoDB's regional endpoint).
{ cat "$RUN/authorizer.env"; echo "REVOCATIONS_TABLE=$REVOCATIONS_TABLE"
  echo "AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"; } >"$RUN/authorizer-revocation.env"
"${LIB[@]}" grant-event tests/fixtures/events/sam-rest-proxy.json measure "$SECRET" demo demo-password >"$RUN/grant.json"

# The Node peer `make bench` times, here behind a Runtime API loop with the authorizer's rules.
NODE_PEER=(node measure/node/peer.cjs runtime)

log "cold start through a local Runtime API ($COLD_RUNS starts each)"
"${HARNESS[@]}" --runs "$COLD_RUNS" --event "$RUN/grant.json" --env-file "$RUN/token-file.env" \
  --response-out "$RUN/grant-response.json" "$BIN/token" >"$RUN/cold-token.json"
"${HARNESS[@]}" --runs "$COLD_RUNS" --event "$RUN/grant.json" --env-file "$RUN/token-sm.env" \
  "$BIN/token" >"$RUN/cold-token-sm.json"
"${LIB[@]}" authorizer-event tests/fixtures/events/sam-rest-token.json "$RUN/grant-response.json" >"$RUN/authz.json"
"${HARNESS[@]}" --runs "$COLD_RUNS" --event "$RUN/authz.json" --env-file "$RUN/authorizer.env" \
  --response-out "$RUN/authz-response.json" "$BIN/authorizer" >"$RUN/cold-authorizer.json"
grep -q '"Allow"' "$RUN/authz-response.json" || die "the authorizer did not allow: $(cat "$RUN/authz-response.json")"
"${HARNESS[@]}" --runs "$COLD_RUNS" --event "$RUN/authz.json" --env-file "$RUN/authorizer-revocation.env" \
  --response-out "$RUN/authz-revocation-response.json" "$BIN/authorizer" >"$RUN/cold-authorizer-revocation.json"
grep -q '"Allow"' "$RUN/authz-revocation-response.json" || die "the authorizer with revocation did not allow: $(cat "$RUN/authz-revocation-response.json")"
"${HARNESS[@]}" --runs "$COLD_RUNS" --event "$RUN/authz.json" --env-file "$RUN/authorizer.env" \
  --response-out "$RUN/node-response.json" "${NODE_PEER[@]}" >"$RUN/cold-node.json"
grep -q '"Allow"' "$RUN/node-response.json" || die "the Node peer did not allow: $(cat "$RUN/node-response.json")"
"${LIB[@]}" cold-table "token (signing key from a file)=$RUN/cold-token.json" \
  "token (signing key from Secrets Manager/moto)=$RUN/cold-token-sm.json" \
  "authorizer=$RUN/cold-authorizer.json" "authorizer, revocation on=$RUN/cold-authorizer-revocation.json" "Node 20 + aws-jwt-verify $JWT_VERIFY_VERSION=$RUN/cold-node.json"

if command -v strace >/dev/null; then
  # With no Runtime API to reach, the function initialises, then stops: every file its init
  # opens, and how many of them are certificates.
  env $(cat "$RUN/token-file.env") AWS_LAMBDA_RUNTIME_API=127.0.0.1:9 AWS_LAMBDA_FUNCTION_NAME=token \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION=1 \
    timeout 10 strace -f -e trace=open,openat -o "$RUN/init-strace.txt" "$BIN/token" >/dev/null 2>&1 || true
  printf '  token init opens %s files, %s of them under /etc/ssl or /etc/pki (strace)\n' \
    "$(grep -c 'open' "$RUN/init-strace.txt")" "$(grep -cE '"/etc/(ssl|pki)' "$RUN/init-strace.txt" || true)"
fi

if [[ "${MEASURE_REVOCATION:-1}" == 1 ]]; then
  log "revocation: how fast it reaches 8 warm authorizer processes, and what it adds to a warm decision"
  python3 measure/revocation_reach.py reach --token-bin "$BIN/token" --authorizer-bin "$BIN/authorizer" \
    --token-env "$RUN/token-file.env" --authorizer-env "$RUN/authorizer-revocation.env" \
    --grant-event "$RUN/grant.json" --grant-fixture tests/fixtures/events/sam-rest-proxy.json \
    --client measure --secret "$SECRET" --instances 8 --trials "${REACH_TRIALS:-20}" --bound 5
  python3 measure/revocation_reach.py latency --authorizer-bin "$BIN/authorizer" \
    --off-env "$RUN/authorizer.env" --on-env "$RUN/authorizer-revocation.env" --event "$RUN/authz.json"
fi

log "warm password grant through the Runtime API (200 in one process) and its I/O"
"${HARNESS[@]}" --runs 1 --warm 200 --event "$RUN/grant.json" --env-file "$RUN/token-file.env" \
  --stdout "$RUN/grant-metrics.log" "$BIN/token" >"$RUN/warm-grant.json"
"${LIB[@]}" io-chain "$RUN/warm-grant.json" "$RUN/grant-metrics.log"

log "the code flow: the sign-in page (200 warm GET /authorize) and 200 warm code exchanges, with their I/O"
"$BIN/tollgate-admin" create-client --id measure-spa --public --redirect-uris https://app.example/cb \
  --scopes profile --default-scopes profile >/dev/null 2>>"$RUN/admin.log"
VERIFIER="measure-verifier-measure-verifier-measure-verifier"
CHALLENGE="$(python3 -c 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' "$VERIFIER")"
FIXTURE=tests/fixtures/events/sam-rest-proxy.json
"${LIB[@]}" authorize-event "$FIXTURE" measure-spa https://app.example/cb "$CHALLENGE" >"$RUN/authorize.json"
"${HARNESS[@]}" --runs 1 --warm 200 --event "$RUN/authorize.json" --env-file "$RUN/token-file.env" \
  --response-out "$RUN/page.json" --stdout "$RUN/page-metrics.log" "$BIN/token" >"$RUN/warm-page.json"
"${LIB[@]}" page-figures "$RUN/warm-page.json" "$RUN/page-metrics.log"
"${LIB[@]}" sign-in-events "$FIXTURE" "$RUN/page.json" demo demo-password 201 >"$RUN/sign-ins.jsonl"
"${HARNESS[@]}" --runs 1 --warm 200 --events "$RUN/sign-ins.jsonl" --env-file "$RUN/token-file.env" \
  --responses-out "$RUN/sign-ins.out" "$BIN/token" >/dev/null
"${LIB[@]}" exchange-events "$FIXTURE" "$RUN/sign-ins.out" measure-spa "$VERIFIER" https://app.example/cb >"$RUN/exchanges.jsonl"
"${HARNESS[@]}" --runs 1 --warm 200 --events "$RUN/exchanges.jsonl" --env-file "$RUN/token-file.env" \
  --stdout "$RUN/exchange-metrics.log" "$BIN/token" >"$RUN/warm-exchange.json"
"${LIB[@]}" exchange-chain "$RUN/warm-exchange.json" "$RUN/exchange-metrics.log"

if [[ "${MEASURE_WATCH:-1}" == 1 ]]; then
log "warm password grants through cargo lambda watch --release (200 sequential)"
WATCH_PORT="$(free_port)"
BASE="http://127.0.0.1:$WATCH_PORT/lambda-url/token"
setsid cargo lambda watch --release --ignore-changes -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$RUN/token-file.env" >"$RUN/watch.log" 2>&1 &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$WATCH_PORT" 120 "cargo lambda watch"
warm_up "$BASE/.well-known/jwks.json" "the token function"
for _ in $(seq 220); do
  curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -u "measure:$SECRET" \
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
fi

if [[ "${MEASURE_COST:-1}" == 1 ]]; then
  log "under a CPU quota per memory size (1,769 MB = 1 vCPU), priced at \$$PRICE_GB_S/GB-s + \$$PRICE_REQ/1M requests (arm64)"
  [[ -w /sys/fs/cgroup/cpu ]] || die "the cost table needs root and cgroup v1's cpu controller (/sys/fs/cgroup/cpu); MEASURE_COST=0 skips it"
  pairs=()
  for mb in 128 256 512; do
    q="$(awk -v m="$mb" 'BEGIN { printf "%.4f", m / 1769 }')"
    "${HARNESS[@]}" --runs 3 --warm 100 --cpu-quota "$q" --memory "$mb" --event "$RUN/grant.json" \
      --env-file "$RUN/token-file.env" "$BIN/token" >"$RUN/q-token-$mb.json"
    "${HARNESS[@]}" --runs 3 --warm 300 --cpu-quota "$q" --memory "$mb" --event "$RUN/authz.json" \
      --env-file "$RUN/authorizer.env" "$BIN/authorizer" >"$RUN/q-authorizer-$mb.json"
    "${HARNESS[@]}" --runs 3 --warm 300 --cpu-quota "$q" --memory "$mb" --event "$RUN/authz.json" \
      --env-file "$RUN/authorizer.env" "${NODE_PEER[@]}" >"$RUN/q-node-$mb.json"
    pairs+=("token grant:$mb=$RUN/q-token-$mb.json" "authorizer:$mb=$RUN/q-authorizer-$mb.json" "Node peer:$mb=$RUN/q-node-$mb.json")
  done
  "${LIB[@]}" cost "$PRICE_GB_S" "$PRICE_REQ" "${pairs[@]}"
fi
log "raw figures: $RUN"
