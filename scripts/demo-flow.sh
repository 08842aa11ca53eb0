#!/usr/bin/env bash
# The whole flow against a running `make dev`: get a token from the token function, ask the
# authorizer about a route (as API Gateway would, through the Lambda Invoke API), then hand the
# authorizer's context to the demo backend the way API Gateway does, and print what each says.
#   bash scripts/demo-flow.sh [METHOD /path]      (default: GET /orders/42)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BASE="http://127.0.0.1:${WATCH_PORT:-9000}"
METHOD="${1:-GET}"
ROUTE="${2:-/orders/42}"
invoke() { curl -s -X POST "$BASE/2015-03-31/functions/$1/invocations" --data-binary @-; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

echo "1. POST /token (password grant for the demo user)"
TOKEN="$(curl -s -u demo-client:demo-secret-for-local-development-only \
  -d grant_type=password -d username=demo -d password=demo-password \
  "$BASE/lambda-url/token/token" | json 'print(d["access_token"])')"
echo "   access_token: ${TOKEN:0:32}..."

echo "2. the authorizer, for a REST API TOKEN event on $METHOD $ROUTE"
ANSWER="$(python3 - "$TOKEN" "$METHOD" "$ROUTE" <<'PY' | invoke authorizer
import json, sys
token, method, route = sys.argv[1:]
print(json.dumps({"type": "TOKEN", "authorizationToken": "Bearer " + token,
  "methodArn": "arn:aws:execute-api:us-east-1:123456789012:demoapi/dev/%s%s" % (method, route)}))
PY
)"
echo "$ANSWER" | json 'print(json.dumps(d, indent=2))' | sed 's/^/   /'

ARN="arn:aws:execute-api:us-east-1:123456789012:demoapi/dev/$METHOD$ROUTE"
VERDICT="$(python3 - "$ANSWER" "$ARN" <<'PY'
import fnmatch, json, sys
answer, arn = json.loads(sys.argv[1]), sys.argv[2]
if "policyDocument" not in answer:
    print("401"); sys.exit()
hit = lambda effect: any(fnmatch.fnmatchcase(arn, r) for s in answer["policyDocument"]["Statement"]
                         if s["Effect"] == effect for r in s["Resource"])
print("403" if hit("Deny") or not hit("Allow") else "allow")
PY
)"
case "$VERDICT" in
  401) echo "   => API Gateway answers 401 Unauthorized; the backend is not called"; exit 0 ;;
  403) echo "   => the policy denies $METHOD $ROUTE: API Gateway answers 403 Forbidden; the backend is not called"; exit 0 ;;
  *) echo "   => the policy allows $METHOD $ROUTE" ;;
esac

echo "3. the demo backend, given the authorizer's context as API Gateway passes it"
python3 - "$ANSWER" "$ROOT/tests/fixtures/events/sam-rest-proxy.json" "$METHOD" "$ROUTE" <<'PY' | invoke whoami | json 'print(d["statusCode"], d["body"])' | sed 's/^/   /'
import json, sys
answer, fixture, method, route = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
event = json.load(open(fixture))
event["httpMethod"], event["path"] = method, route
ctx = dict(answer.get("context", {}), principalId=answer.get("principalId"))
event["requestContext"]["authorizer"] = ctx
print(json.dumps(event))
PY
