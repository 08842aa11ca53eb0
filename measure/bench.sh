#!/usr/bin/env bash
# `make bench`: the authorizer's decision against the peer a Node user would deploy instead, in
# one run, on the same keys, tokens and events (generated once into a temp dir):
#   - criterion (functions/authorizer/benches/decision.rs), ES256 and RS256: a fresh decision
#     (event JSON in, answer JSON out, the token verified), a cached one (the token seen before),
#     both again with revocation on (a state of 10,000 entries asked on every decision), the
#     freshness check alone, jsonwebtoken's decode alone ("bare verify") and aws-lc's signature
#     check alone;
#   - measure/node/peer.cjs (the Node peer `make measure` starts too): aws-jwt-verify (pinned in
#     measure/node/package-lock.json) and the same IAM policy and context built from the same
#     event; its answers are checked equal to Tollgate's before it is timed.
# Prints the medians (µs per decision) and their ratios. The machine's load moves every figure:
# compare the ratios, which are taken from one run.
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
ensure_node_peer
RUN="$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench.XXXXXX")"
trap 'rm -rf "$RUN"' EXIT
export TOLLGATE_BENCH_FIXTURE="$RUN/fixture.json"

log "criterion: cargo bench -p tollgate-authorizer --bench decision"
# Each decision writes its one line (its EMF metrics document, which is also its log record) to
# stdout, as in Lambda (one write, through a pipe here): kept out of the report.
cargo bench -p tollgate-authorizer --bench decision --locked -- "${@}" \
  | grep -v -e '"_aws"' >"$RUN/criterion.txt"
grep -E "time:|^(ES|RS)256/" "$RUN/criterion.txt" | grep -v Benchmarking
[ -s "$TOLLGATE_BENCH_FIXTURE" ] || die "the Rust bench wrote no fixture"

log "Node peer: aws-jwt-verify $(node -p 'require("./measure/node/node_modules/aws-jwt-verify/package.json").version')"
node measure/node/peer.cjs bench "$TOLLGATE_BENCH_FIXTURE" >"$RUN/node.jsonl"
cat "$RUN/node.jsonl"

log "median µs per decision (one run; ratios are what carries across machines)"
python3 - "$ROOT/target/criterion" "$RUN/node.jsonl" <<'PY'
import json, sys, os
crit, node_file = sys.argv[1], sys.argv[2]
node = {r["alg"]: r["median_us"] for r in map(json.loads, open(node_file))}
def med(alg, name):
    """The median in µs, or None when this run did not measure it (a filter was given)."""
    path = os.path.join(crit, alg, name, "new", "estimates.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1000
def cell(x, width, fmt):
    sign, fmt = ("+", fmt[1:]) if fmt.startswith("+") else ("", fmt)
    return format(x, f"{sign}{width}{fmt}") if x is not None else f"{'-':>{width}}"
def diff(a, b):
    return a - b if a is not None and b is not None else None
def ratio(a, b):
    return a / b if a is not None and b is not None else None
print(f"{'':6} {'fresh':>8} {'cached':>8} {'Node peer':>10} {'bare verify':>12} {'sig only':>9} {'overhead':>9} {'Node/fresh':>11} {'Node/cached':>12}")
for alg in ("ES256", "RS256"):
    fresh, cached = med(alg, "decision"), med(alg, "decision_cached")
    bare, sig = med(alg, "bare_verify"), med(alg, "signature_only")
    n = node[alg]
    print(f"{alg:6} {cell(fresh, 8, '.1f')} {cell(cached, 8, '.2f')} {n:10.1f} {cell(bare, 12, '.1f')} "
          f"{cell(sig, 9, '.1f')} {cell(diff(fresh, bare), 9, '+.1f')} {cell(ratio(n, fresh), 10, '.2f')}x "
          f"{cell(ratio(n, cached), 11, '.1f')}x")
print("overhead = fresh decision - bare verify (jsonwebtoken decode with the same key); - = not in this run")
print()
print(f"{'with revocation on (10,000 entries)':38} {'fresh':>8} {'cached':>8} {'added fresh':>12} {'added cached':>13}")
for alg in ("ES256", "RS256"):
    fresh, cached = med(alg, "decision"), med(alg, "decision_cached")
    rf, rc = med(alg, "decision_revocation"), med(alg, "decision_cached_revocation")
    print(f"{alg:38} {cell(rf, 8, '.1f')} {cell(rc, 8, '.2f')} {cell(diff(rf, fresh), 12, '+.2f')} "
          f"{cell(diff(rc, cached), 13, '+.2f')}")
view, ask = med("revocation", "view_within_the_bound"), med("revocation", "refuses_10000_entries")
print(f"a decision's freshness check (state within its bound): {cell(view, 0, '.3f')} µs; "
      f"the question alone: {cell(ask, 0, '.3f')} µs")
PY
