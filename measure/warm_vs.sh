#!/usr/bin/env bash
# The warm password grant and the warm refresh of two builds, in the same run: issue 23's "no
# slower" target (docs/performance.md). Each build gets its own tables on one DynamoDB Local
# (made by its own tollgate-admin, so each finds the shapes it writes) and the same dev auth
# endpoint; they take turns, ROUNDS (5) times, in alternating order, so that the machine's drift
# falls on both. A round is, for each build, one process answering a cold grant and then 200 warm
# ones (through a local Runtime API, measure/coldstart.py), then a second process refreshing each
# of those 201 sessions once (the cold one first, then 200 warm). Printed: each round's warm
# median, their median per build, and after / before.
#
# usage: bash measure/warm_vs.sh BEFORE_BIN_DIR AFTER_BIN_DIR
# Each directory holds a release build's `token` and `tollgate-admin` (and AFTER_BIN_DIR
# `dev-auth`): for example, build an earlier commit in a clone with
#   cargo build --release --locked -p tollgate-token && cargo build --release --locked -p tollgate-admin -p tollgate-dev-auth
# and copy target/release/{token,tollgate-admin,dev-auth} out.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
[[ $# == 2 ]] || die "usage: bash measure/warm_vs.sh BEFORE_BIN_DIR AFTER_BIN_DIR"
declare -A BIN=([before]="$1" [after]="$2")
for rev in before after; do
  for b in token tollgate-admin; do [[ -x "${BIN[$rev]}/$b" ]] || die "${BIN[$rev]} has no $b"; done
done
[[ -x "$2/dev-auth" ]] || die "$2 has no dev-auth"
ensure_dynamodb_local
ROUNDS="${ROUNDS:-5}"
WARM="${WARM:-200}"
RUN="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-warm-vs.XXXXXX")"
PGIDS=""
trap stop_all EXIT INT TERM
HARNESS=(python3 measure/coldstart.py)
LIB=(python3 measure/measure_lib.py)
FIXTURE=tests/fixtures/events/sam-rest-proxy.json
SECRET=measure-secret-measure-secret-measure-secret

log "DynamoDB Local and the dev auth endpoint"
DDB_PORT="$(free_port)"
DYNAMODB_LOG="$RUN/dynamodb.log" setsid bash -c "source scripts/lib.sh; start_dynamodb_local $DDB_PORT; wait" &
PGIDS="$PGIDS $!"
wait_for_port 127.0.0.1 "$DDB_PORT" 60 "DynamoDB Local"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
setsid "$2/dev-auth" --listen 127.0.0.1:0 --users dev/users.json >"$RUN/dev-auth.log" 2>&1 &
PGIDS="$PGIDS $!"
AUTH_PORT="$(bound_port "$RUN/dev-auth.log" $! 30 dev-auth)"
"$2/tollgate-admin" generate-key --out "$RUN/key.pem" >/dev/null 2>>"$RUN/admin.log"

for rev in before after; do
  admin="${BIN[$rev]}/tollgate-admin"
  cat >"$RUN/$rev.env" <<ENV
ISSUER=https://measure.example/prod
AUDIENCE=measure
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
NO_COLOR=1
CLIENTS_TABLE=$rev-clients
TOKENS_TABLE=$rev-tokens
LOCKOUTS_TABLE=$rev-lockouts
REVOCATIONS_TABLE=$rev-revocations
AUTH_ENDPOINT_URL=http://127.0.0.1:$AUTH_PORT/
USER_CLAIMS=email,name
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
SIGNING_KEY_FILE=$RUN/key.pem
ENV
  (set -a; source "$RUN/$rev.env"; set +a
   "$admin" create-tables >/dev/null 2>>"$RUN/admin.log"
   printf '%s' "$SECRET" | "$admin" create-client --id measure --secret-stdin --scopes profile \
     --default-scopes profile >/dev/null 2>>"$RUN/admin.log") || die "$rev: could not make its tables and client (see $RUN/admin.log)"
done
"${LIB[@]}" grant-event "$FIXTURE" measure "$SECRET" demo demo-password >"$RUN/grant.json"

pairs=()
one() { # revision round
  local rev="$1" r="$2" bin="${BIN[$1]}/token"
  "${HARNESS[@]}" --runs 1 --warm "$WARM" --event "$RUN/grant.json" --env-file "$RUN/$rev.env" \
    --responses-out "$RUN/grants-$rev-$r.out" "$bin" >"$RUN/grant-$rev-$r.json"
  "${LIB[@]}" refresh-events "$FIXTURE" "$RUN/grants-$rev-$r.out" measure "$SECRET" >"$RUN/refresh-$rev-$r.jsonl"
  "${HARNESS[@]}" --runs 1 --warm "$WARM" --events "$RUN/refresh-$rev-$r.jsonl" --env-file "$RUN/$rev.env" \
    --responses-out "$RUN/refreshes-$rev-$r.out" "$bin" >"$RUN/refresh-$rev-$r.json"
  # Every refresh must have been answered with tokens, or its time is an error's.
  python3 -c 'import json, sys
bad = [l for l in open(sys.argv[1]) if json.loads(l).get("statusCode") != 200]
sys.exit(f"{sys.argv[2]}: {len(bad)} refreshes not answered 200, first: {bad[0][:300]}" if bad else 0)' \
    "$RUN/refreshes-$rev-$r.out" "$rev" || die "a refresh failed"
  pairs+=("password grant:$rev:$r=$RUN/grant-$rev-$r.json" "refresh:$rev:$r=$RUN/refresh-$rev-$r.json")
}

log "$ROUNDS rounds of $WARM warm grants and $WARM warm refreshes per build, alternating"
for r in $(seq "$ROUNDS"); do
  if (( r % 2 )); then one before "$r"; one after "$r"; else one after "$r"; one before "$r"; fi
done
"${LIB[@]}" vs-table "${pairs[@]}"
log "raw figures: $RUN"
