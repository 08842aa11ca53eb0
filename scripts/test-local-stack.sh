#!/usr/bin/env bash
# The local stack on a shared host (run by `make test`):
#   listeners MIN PID...   every TCP listener of these processes and their descendants is on
#                          loopback, and there are at least MIN of them
#   endpoint               a DynamoDB endpoint beyond this machine is refused (and allowed with
#                          TOLLGATE_ALLOW_REMOTE_DYNAMODB=1)
#   dev                    scripts/dev.sh, its servers on ports they bind themselves, with a developer's AWS keys
#                          exported: its files are private, the keys never reach them, its
#                          listeners are loopback only, it prints its route rules
# Each check prints PASS or FAIL; the script fails if any check failed.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=1; }
check() { # description command...
  local what="$1"
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# The pids $@ and all their descendants.
descendants() {
  local -a todo=("$@") all=()
  local p
  while ((${#todo[@]})); do
    p="${todo[0]}"
    todo=("${todo[@]:1}")
    all+=("$p")
    # shellcheck disable=SC2207
    todo+=($(ps -o pid= --ppid "$p" 2>/dev/null || true))
  done
  printf '%s\n' "${all[@]}"
}

is_loopback() { [[ "$1" == 127.* || "$1" == "[::1]:"* || "$1" == "[::ffff:127."* ]]; }
export -f is_loopback

listeners() { # min pid...
  local min="$1" line addr found=0 pids
  shift
  command -v ss >/dev/null || die "ss (Debian package iproute2) is required to list listeners"
  pids=" $(descendants "$@" | tr '\n' ' ') "
  while read -r line; do
    addr="$(awk '{print $4}' <<<"$line")"
    local owned=0 pid
    for pid in $(grep -o 'pid=[0-9]*' <<<"$line" | cut -d= -f2); do
      [[ "$pids" == *" $pid "* ]] && owned=1
    done
    ((owned)) || continue
    found=$((found + 1))
    check "listener $addr ($(grep -o '(("[^"]*"' <<<"$line" | tr -d '("')) is on loopback" is_loopback "$addr"
  done < <(ss -Hltnp)
  check "found $found listeners of these processes (at least $min)" test "$found" -ge "$min"
}

refused() { # url: scripts/dev.sh must refuse it before doing anything (not even its dev dir)
  local out tmp
  tmp="$(mktemp -d)"
  out="$(AWS_ENDPOINT_URL_DYNAMODB="$1" TOLLGATE_DEV_DIR="$tmp/dev" timeout 60 bash scripts/dev.sh 2>&1)" && return 1
  [[ "$out" == *"is not a loopback address"* && ! -e "$tmp/dev" ]] || return 1
  rmdir "$tmp"
}

endpoint() {
  local u
  for u in 0.0.0.0:8000 '[::]:8000' '*:8000' 192.0.2.2:8000 '[::ffff:10.0.0.1]:8000'; do
    check "a listener on $u counts as beyond loopback" bash -c '! is_loopback "$1"' _ "$u"
  done
  for u in http://10.1.2.3:8000 http://0.0.0.0:8000 https://dynamodb.us-east-1.amazonaws.com \
    http://127.0.0.1.example.com:8000 http://127.0.0.1@example.com:8000/; do
    check "make dev refuses AWS_ENDPOINT_URL_DYNAMODB=$u" refused "$u"
  done
  for u in http://127.0.0.1:8000 http://localhost:8000/ "http://[::1]:8000"; do
    check "loopback endpoint $u is accepted" bash -c 'source scripts/lib.sh; require_loopback_endpoint "$1"' _ "$u"
  done
  check "TOLLGATE_ALLOW_REMOTE_DYNAMODB=1 allows a remote endpoint" \
    env TOLLGATE_ALLOW_REMOTE_DYNAMODB=1 bash -c 'source scripts/lib.sh; require_loopback_endpoint http://10.1.2.3:8000 2>/dev/null'
}

mode_is() { [[ "$(stat -c %a "$2")" == "$1" ]]; }
lacks() { ! grep -q -- "$1" "$2"; }

dev() {
  local dir out pid port
  dir="$(mktemp -d)"
  out="$dir/dev.out"
  : >"$out"
  # A developer's own credentials in the environment, as `aws configure` users have them; no
  # DynamoDB endpoint (make test's own), so make dev starts its own DynamoDB Local.
  env -u AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID=AKIADEVELOPERSOWNKEY AWS_SECRET_ACCESS_KEY=developers-own-secret-key \
    AWS_SESSION_TOKEN=developers-own-session-token AWS_PROFILE=developers-profile \
    WATCH_PORT=0 AUTH_PORT=0 DYNAMODB_PORT=0 \
    TOLLGATE_DEV_DIR="$dir/dev" setsid bash scripts/dev.sh >"$out" 2>&1 &
  pid=$!
  local i
  for ((i = 0; i < 1200; i++)); do
    grep -q "Tollgate is running" "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if ! grep -q "Tollgate is running" "$out"; then
    tail -30 "$out"
    fail "make dev started (output above)"
    kill -TERM "$pid" 2>/dev/null || true
    return
  fi
  pass "make dev started on ports its servers bound themselves"
  check "make dev printed its route rules" grep -q 'route rules: ROUTE_SCOPES="GET /orders/\*=orders:read; POST /orders=orders:write; ANY /admin/\*=admin" UNLISTED_ROUTES=deny' "$out"
  check "the dev dir is 700" mode_is 700 "$dir/dev"
  local f
  for f in "$dir"/dev/*; do
    check "$(basename "$f") is 600" mode_is 600 "$f"
  done
  check "token.env is there" test -f "$dir/dev/token.env"
  check "token.env holds the dummy credentials" grep -qx 'AWS_ACCESS_KEY_ID=local' "$dir/dev/token.env"
  check "token.env holds UNLISTED_ROUTES=deny" grep -qx 'UNLISTED_ROUTES=deny' "$dir/dev/token.env"
  for secret in AKIADEVELOPERSOWNKEY developers-own-secret-key developers-own-session-token developers-profile; do
    check "no dev file holds the developer's $secret" bash -c '! grep -rq -- "$1" "$2"' _ "$secret" "$dir/dev"
  done
  demo_service "$out"
  listeners 3 "$pid"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  for port in $(grep -o '127\.0\.0\.1:[0-9]*' "$out" | cut -d: -f2 | sort -u); do
    check "port $port is closed after make dev stopped" bash -c '! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null' _ "$port"
  done
  rm -rf "$dir"
}

# The machine client's curl line that make dev prints works as printed: a token for
# demo-service with scope orders:read and no refresh token (RFC 6749 §4.4.3).
demo_service() {
  local line
  line="$(grep -m1 -- '-u demo-service:demo-service-secret-for-local-development-only -d grant_type=client_credentials ' "$1" | sed 's/^ *//')"
  check "make dev printed the demo service's curl line" test -n "$line"
  check "the demo service's curl line gets a token with scope orders:read and no refresh token" \
    bash -c 'r="$(eval "$1")"; [[ "$r" == *"\"access_token\":\"ey"* && "$r" == *"\"scope\":\"orders:read\""* && "$r" != *refresh_token* ]] || { echo "$r" >&2; false; }' _ "$line"
}

case "${1:-}" in
  listeners) shift; listeners "$@" ;;
  endpoint) endpoint ;;
  dev) dev ;;
  *) die "usage: $0 listeners MIN PID... | endpoint | dev" ;;
esac
((FAILED == 0)) || die "local stack hygiene: some checks failed (FAIL above)"
