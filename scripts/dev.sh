#!/usr/bin/env bash
# `make dev`: the whole local stack in the foreground; Ctrl-C stops all of it.
#   DynamoDB Local (or the one AWS_ENDPOINT_URL_DYNAMODB names), the tables, the demo client and
#   a dev signing key (and its public JWKS for the authorizer), the dev auth endpoint with the
#   demo user, and every function (token, authorizer, whoami) under `cargo lambda watch`, which
#   rebuilds on change.
# On a shared host: every service listens on 127.0.0.1 only, the AWS credentials are fixed
# dummies (never the developer's own), and .dev/ and everything in it are readable by their
# owner only. A DynamoDB endpoint beyond this machine is refused unless
# TOLLGATE_ALLOW_REMOTE_DYNAMODB=1.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
umask 077

WATCH_PORT="${WATCH_PORT:-9000}"
AUTH_PORT="${AUTH_PORT:-9001}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
DEMO_CLIENT_ID=demo-client
DEMO_CLIENT_SECRET=demo-secret-for-local-development-only
DEMO_SERVICE_ID=demo-service # a machine client: client_credentials only, no user
DEMO_SERVICE_SECRET=demo-service-secret-for-local-development-only
DEMO_SPA_ID=demo-spa # a public client: the sign-in page (code flow with PKCE), no secret
# The shared credential Tollgate sends the stand-in legacy refresh endpoint (dev-auth's
# /legacy/refresh, known tokens in dev/legacy-tokens.json).
LEGACY_CREDENTIAL=legacy-credential-for-local-development-only
# This run's PKCE pair for the demo SPA: dev-auth's /callback exchanges codes with the verifier,
# the printed authorize URL carries the challenge.
DEMO_VERIFIER="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
DEMO_CHALLENGE="$(python3 -c 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).decode().rstrip("="))' "$DEMO_VERIFIER")"
# The authorizer's route rules: the scopes each route needs; any other route is refused.
ROUTE_SCOPES="GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin"
UNLISTED_ROUTES=deny
DEV="${TOLLGATE_DEV_DIR:-$ROOT/.dev}"

if [[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then require_loopback_endpoint "$AWS_ENDPOINT_URL_DYNAMODB"; fi
mkdir -p "$DEV"
chmod -R go= "$DEV" # also what an older make dev left readable

# Port 0 (WATCH_PORT, AUTH_PORT or DYNAMODB_PORT) means a port the server binds itself and the
# script reads back (docs/testing.md); the hygiene test of `make test` starts it that way.
port_free() { [[ "$1" == 0 ]] || ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$WATCH_PORT" "$AUTH_PORT"; do
  port_free "$p" || die "port $p is in use (another make dev?); stop it or set WATCH_PORT / AUTH_PORT"
done
log "route rules: ROUTE_SCOPES=\"$ROUTE_SCOPES\" UNLISTED_ROUTES=$UNLISTED_ROUTES (routes not listed are refused)"

ensure_cargo_lambda
ensure_dynamodb_local
PGIDS=""
trap 'log "stopping"; stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

if [[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then
  log "using the DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
else
  port_free "$DYNAMODB_PORT" || die "port $DYNAMODB_PORT is in use; set DYNAMODB_PORT, or AWS_ENDPOINT_URL_DYNAMODB to use that server"
  log "starting DynamoDB Local in memory on 127.0.0.1, port $DYNAMODB_PORT (0: one it picks)"
  DYNAMODB_LOG="$DEV/dynamodb.log" setsid bash -c "source scripts/lib.sh; start_dynamodb_local $DYNAMODB_PORT; wait" &
  PGIDS="$PGIDS $!"
  if [[ "$DYNAMODB_PORT" == 0 ]]; then
    DYNAMODB_PORT="$(bound_port "$DEV/dynamodb.log" $! 60 "DynamoDB Local")"
  else
    wait_for_port 127.0.0.1 "$DYNAMODB_PORT" 60 "DynamoDB Local"
  fi
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
fi

log "building the admin CLI and the dev auth endpoint"
cargo build --quiet -p tollgate-admin -p tollgate-dev-auth

export CLIENTS_TABLE=tollgate-clients TOKENS_TABLE=tollgate-tokens LOCKOUTS_TABLE=tollgate-lockouts \
  REVOCATIONS_TABLE=tollgate-revocations
target/debug/tollgate-admin create-tables
printf '%s' "$DEMO_CLIENT_SECRET" | target/debug/tollgate-admin create-client --if-not-exists \
  --id "$DEMO_CLIENT_ID" --name "Demo client" --secret-stdin \
  --scopes "profile orders:read orders:write" --default-scopes "profile orders:read"
printf '%s' "$DEMO_SERVICE_SECRET" | target/debug/tollgate-admin create-client --if-not-exists \
  --id "$DEMO_SERVICE_ID" --name "Demo service" --secret-stdin --grant-types client_credentials \
  --scopes "orders:read" --default-scopes "orders:read"
[[ -f "$DEV/signing-key.pem" ]] || target/debug/tollgate-admin generate-key --out "$DEV/signing-key.pem"
target/debug/tollgate-admin public-jwks --key "$DEV/signing-key.pem" | write_private "$DEV/jwks.json"

log "starting the dev auth endpoint on port $AUTH_PORT (users: dev/users.json)"
if [[ "$AUTH_PORT" == 0 ]]; then
  setsid target/debug/dev-auth --listen 127.0.0.1:0 --users dev/users.json \
    --demo-client "$DEMO_SPA_ID" --demo-verifier "$DEMO_VERIFIER" \
    --legacy-tokens dev/legacy-tokens.json --legacy-credential "$LEGACY_CREDENTIAL" >"$DEV/dev-auth.log" 2>&1 &
  PGIDS="$PGIDS $!"
  AUTH_PORT="$(bound_port "$DEV/dev-auth.log" $! 30 dev-auth)"
else
  setsid target/debug/dev-auth --listen "127.0.0.1:$AUTH_PORT" --users dev/users.json \
    --demo-client "$DEMO_SPA_ID" --demo-verifier "$DEMO_VERIFIER" \
    --legacy-tokens dev/legacy-tokens.json --legacy-credential "$LEGACY_CREDENTIAL" &
  PGIDS="$PGIDS $!"
  wait_for_port 127.0.0.1 "$AUTH_PORT" 30 "dev-auth"
fi

# The demo SPA's redirect URI is dev-auth's /callback, on the port it got.
DEMO_CALLBACK="http://127.0.0.1:$AUTH_PORT/callback"
target/debug/tollgate-admin create-client --if-not-exists --id "$DEMO_SPA_ID" --name "Demo SPA" \
  --public --redirect-uris "$DEMO_CALLBACK" \
  --scopes "openid profile orders:read" --default-scopes "profile orders:read" >/dev/null
target/debug/tollgate-admin update-client --id "$DEMO_SPA_ID" --redirect-uris "$DEMO_CALLBACK" >/dev/null

token_env() { # watch-port
  write_private "$DEV/token.env" <<ENV
ISSUER=http://127.0.0.1:$1/lambda-url/token
AUDIENCE=tollgate-demo-api
CLIENTS_TABLE=$CLIENTS_TABLE
TOKENS_TABLE=$TOKENS_TABLE
LOCKOUTS_TABLE=$LOCKOUTS_TABLE
REVOCATIONS_TABLE=$REVOCATIONS_TABLE
REVOCATION_MAX_STALENESS_SECONDS=5
AUTH_ENDPOINT_URL=http://127.0.0.1:$AUTH_PORT/
USER_STATUS_URL=http://127.0.0.1:$AUTH_PORT/status
LEGACY_REFRESH_URL=http://127.0.0.1:$AUTH_PORT/legacy/refresh
LEGACY_REFRESH_CREDENTIAL=$LEGACY_CREDENTIAL
SIGNING_KEY_FILE=$DEV/signing-key.pem
USER_CLAIMS=email,name,groups
JWKS_FILE=$DEV/jwks.json
ROUTE_SCOPES="$ROUTE_SCOPES"
UNLISTED_ROUTES=$UNLISTED_ROUTES
AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
ENV
}

log "starting the functions under cargo lambda watch on port $WATCH_PORT (the first request compiles)"
if [[ "$WATCH_PORT" == 0 ]]; then
  WATCH_REBUILDS=1 start_watch_any_port "$DEV/token.env" "$DEV/watch.log" token_env
  PGIDS="$PGIDS $WATCH_PID"
else
  token_env "$WATCH_PORT"
  setsid cargo lambda watch --concurrency "$WATCH_CONCURRENCY" -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$DEV/token.env" &
  WATCH_PID=$!
  PGIDS="$PGIDS $WATCH_PID"
  wait_for_port 127.0.0.1 "$WATCH_PORT" 120 "cargo lambda watch"
fi
BASE="http://127.0.0.1:$WATCH_PORT/lambda-url/token"
warm_up "$BASE/.well-known/jwks.json" "the token function"
warm_up_invoke "http://127.0.0.1:$WATCH_PORT" authorizer "the authorizer" tests/fixtures/events/sam-rest-token.json
warm_up_invoke "http://127.0.0.1:$WATCH_PORT" whoami "the demo backend" tests/fixtures/events/sam-rest-proxy.json

cat <<EOF2

  Tollgate is running.
    token endpoint   $BASE/token
    JWKS             $BASE/.well-known/jwks.json
    metadata         $BASE/.well-known/oauth-authorization-server
    auth endpoint    http://127.0.0.1:$AUTH_PORT/   (dev stand-in, users in dev/users.json)
    legacy refresh   http://127.0.0.1:$AUTH_PORT/legacy/refresh   (stand-in old system, tokens in dev/legacy-tokens.json)
    DynamoDB         $AWS_ENDPOINT_URL_DYNAMODB   (dummy credentials: local / local)
    route rules      ROUTE_SCOPES="$ROUTE_SCOPES"
                     UNLISTED_ROUTES=$UNLISTED_ROUTES   (a route not listed is refused)

  Sign in on the sign-in page (the code flow with PKCE, public client $DEMO_SPA_ID): open
    $BASE/authorize?response_type=code&client_id=$DEMO_SPA_ID&redirect_uri=$DEMO_CALLBACK&scope=openid%20profile&state=demo&code_challenge=$DEMO_CHALLENGE&code_challenge_method=S256
  in a browser and sign in as demo / demo-password: the demo app's callback page exchanges
  the code and shows the tokens (docs/code-flow.md).

  Get a token for the demo user (the password grant):
    curl -s -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d grant_type=password -d username=demo -d password=demo-password $BASE/token

  The same, with the client credentials in the body and a narrower scope:
    curl -s -d grant_type=password -d client_id=$DEMO_CLIENT_ID -d client_secret=$DEMO_CLIENT_SECRET -d username=demo -d password=demo-password -d scope=profile $BASE/token

  A wrong password (invalid_grant), and an auth endpoint that is too slow (503):
    curl -s -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d grant_type=password -d username=demo -d password=wrong $BASE/token
    curl -s -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d grant_type=password -d username=slow -d password=demo-password $BASE/token

  A token for the demo service (a machine client: client_credentials, sub is its client id,
  no refresh token; it authenticates again when the token expires):
    curl -s -u $DEMO_SERVICE_ID:$DEMO_SERVICE_SECRET -d grant_type=client_credentials $BASE/token

  Refresh (paste the refresh_token from above; each one works once), and revoke its family:
    curl -s -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d grant_type=refresh_token -d refresh_token=PASTE_REFRESH_TOKEN $BASE/token
    curl -s -i -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d token=PASTE_REFRESH_TOKEN $BASE/revoke

  A refresh token of the old system (Apigee's, say), accepted once: the first use starts a
  Tollgate session, a second use is invalid_grant (docs/apigee-migration.md). Any token
  ok.$DEMO_CLIENT_ID.<anything> works once too; refused.$DEMO_CLIENT_ID.x is refused, broken.$DEMO_CLIENT_ID.x is 503:
    curl -s -u $DEMO_CLIENT_ID:$DEMO_CLIENT_SECRET -d grant_type=refresh_token -d refresh_token=apigee-demo-refresh-0001 $BASE/token

  The public keys:
    curl -s $BASE/.well-known/jwks.json

  The authorizer and the demo backend (Lambda Invoke API), the whole flow in one script:
    bash scripts/demo-flow.sh GET /orders/42      # allowed: the demo client has orders:read
    bash scripts/demo-flow.sh POST /orders        # 403: the token's default scopes lack orders:write

  The authorizer alone, for a REST API TOKEN event (paste a token):
    curl -s -X POST http://127.0.0.1:$WATCH_PORT/2015-03-31/functions/authorizer/invocations -d '{"type":"TOKEN","authorizationToken":"Bearer PASTE_TOKEN","methodArn":"arn:aws:execute-api:us-east-1:123456789012:demoapi/dev/GET/orders/42"}'

  Ctrl-C stops everything.
EOF2
wait "$WATCH_PID"
