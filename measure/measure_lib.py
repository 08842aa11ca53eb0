#!/usr/bin/env python3
"""Helpers of `make measure` (measure/measure.sh): builds the events it sends and turns the raw
figures into the tables it prints. Standard library only.

  grant-event FIXTURE CLIENT SECRET USER PASSWORD > event.json   REST proxy POST /token
  authorizer-event FIXTURE TOKEN_RESPONSE > event.json           TOKEN event with its bearer token
  io-chain HARNESS_JSON METRICS_LOG                              the grant next to its I/O chain
  cold-table NAME=HARNESS_JSON...                                the cold-start table
  cost PRICE_GB_S PRICE_REQ NAME:MB=HARNESS_JSON...              cost per million requests
  authorize-event FIXTURE CLIENT REDIRECT CHALLENGE > event.json  REST proxy GET /authorize
  sign-in-events FIXTURE PAGE_RESPONSE USER PASSWORD N > e.jsonl  N posts of that page's form
  exchange-events FIXTURE RESPONSES CLIENT VERIFIER REDIRECT > e.jsonl  one exchange per code
  page-figures HARNESS_JSON METRICS_LOG                          the page next to its one read
  exchange-chain HARNESS_JSON METRICS_LOG                        the exchange next to its I/O chain
  refresh-events FIXTURE RESPONSES CLIENT SECRET > e.jsonl       one refresh per grant answered
  vs-table OP:REVISION:ROUND=HARNESS_JSON...                     warm medians, after / before
"""

import base64
import json
import re
import statistics
import sys
from urllib.parse import parse_qs, urlencode, urlsplit


def grant_event(fixture, client, secret, user, password):
    body = f"grant_type=password&username={user}&password={password}"
    print(json.dumps(token_event(fixture, client, secret, body)))


def token_event(fixture, client, secret, body):
    """A REST proxy event of `POST /token` under stage `prod`, the client in HTTP Basic."""
    e = json.load(open(fixture))
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": f"Basic {basic}",
        "Host": e["headers"].get("Host", "example.execute-api.us-east-1.amazonaws.com"),
        "X-Forwarded-Proto": "https",
    }
    e.update(
        httpMethod="POST", path="/token", resource="/token", pathParameters=None,
        queryStringParameters=None, multiValueQueryStringParameters=None,
        headers=headers, multiValueHeaders={k: [v] for k, v in headers.items()},
        body=body, isBase64Encoded=False,
    )
    e["requestContext"].update(path="/prod/token", stage="prod", httpMethod="POST", resourcePath="/token")
    return e


def refresh_events(fixture, responses, client, secret):
    """One refresh event per grant answered in `responses` (coldstart.py's --responses-out), each
    presenting that grant's refresh token: a sequence of refreshes of different sessions."""
    for line in open(responses):
        answer = json.loads(line)
        if answer.get("statusCode") != 200:
            raise SystemExit(f"a grant was not answered with tokens: {answer}")
        token = json.loads(answer["body"])["refresh_token"]
        body = urlencode({"grant_type": "refresh_token", "refresh_token": token})
        print(json.dumps(token_event(fixture, client, secret, body)))


def vs_table(pairs):
    """`label=file ...` of coldstart.py's output, each label `<operation>:<revision>:<round>`:
    per operation and revision the warm medians of the rounds, their median, and after/before."""
    rows = {}
    for pair in pairs:
        label, path = pair.split("=", 1)
        op, rev, _ = label.split(":")
        rows.setdefault(op, {}).setdefault(rev, []).append(json.load(open(path))["warm_median_ms"])
    for op, revs in rows.items():
        med = {rev: statistics.median(v) for rev, v in revs.items()}
        for rev, v in revs.items():
            rounds = ", ".join(f"{x:.2f}" for x in v)
            print(f"  {op:<15} {rev:<7} median of round medians {med[rev]:6.2f} ms (rounds: {rounds})")
        if "before" in med and "after" in med:
            print(f"  {op:<15} after / before: {med['after'] / med['before']:.2f}")


def proxy_event(fixture, method, path, headers, body=None, query=None):
    """A REST proxy event under stage `prod`."""
    e = json.load(open(fixture))
    headers = dict(headers, Host=e["headers"].get("Host", "example.execute-api.us-east-1.amazonaws.com"))
    e.update(
        httpMethod=method, path=path, resource=path, pathParameters=None,
        queryStringParameters={k: v for k, v in (query or {}).items()} or None,
        multiValueQueryStringParameters={k: [v] for k, v in (query or {}).items()} or None,
        headers=headers, multiValueHeaders={k: [v] for k, v in headers.items()},
        body=body, isBase64Encoded=False,
    )
    e["requestContext"].update(path=f"/prod{path}", stage="prod", httpMethod=method, resourcePath=path)
    return e


def header(proxy, name):
    for key in ("multiValueHeaders", "headers"):
        for k, v in (proxy.get(key) or {}).items():
            if k.lower() == name:
                return v[0] if isinstance(v, list) else v
    return None


def authorize_event(fixture, client, redirect, challenge):
    query = {"response_type": "code", "client_id": client, "redirect_uri": redirect,
             "code_challenge": challenge, "code_challenge_method": "S256", "scope": "profile",
             "state": "measure"}
    print(json.dumps(proxy_event(fixture, "GET", "/authorize", {}, query=query)))


def sign_in_events(fixture, page_response, user, password, n):
    page = json.load(open(page_response))
    if page.get("statusCode") != 200:
        raise SystemExit(f"no sign-in page: {page}")
    field = re.search(r'name="request" value="([^"]*)"', page["body"]).group(1)
    cookie = header(page, "set-cookie").split(";")[0]
    body = urlencode({"request": field, "username": user, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    event = json.dumps(proxy_event(fixture, "POST", "/authorize", headers, body))
    for _ in range(int(n)):
        print(event)


def exchange_events(fixture, responses, client, verifier, redirect):
    for line in open(responses):
        signed_in = json.loads(line)
        location = header(signed_in, "location")
        if signed_in.get("statusCode") != 303 or not location:
            raise SystemExit(f"a sign-in did not redirect with a code: {signed_in}")
        code = parse_qs(urlsplit(location).query)["code"][0]
        body = urlencode({"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                          "client_id": client, "redirect_uri": redirect})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        print(json.dumps(proxy_event(fixture, "POST", "/token", headers, body)))


def page_figures(harness_json, metrics_log):
    """The sign-in page makes one call, the client record; the rest is its own work."""
    h = json.load(open(harness_json))
    reads = [sum(ms for _, ms in calls) for calls in per_request(metrics_log)[1:]]  # the cold one aside
    if any(len(calls) != 1 for calls in per_request(metrics_log)[1:]):
        raise SystemExit("expected one dependency call (the client record) per sign-in page")
    read = statistics.median(reads)
    page = h["warm_median_ms"]
    print(f"  {'client record (DynamoDB)':<38} median {read:6.2f} ms")
    print(f"  {'whole page (Runtime API, warm)':<38} median {page:6.2f} ms, p90 {h['warm_p90_ms']:.2f} "
          f"(n={h['warm_n']}): {page - read:.2f} ms of its own")


def exchange_chain(harness_json, metrics_log):
    """A code exchange makes three or four calls: the client record (concurrently with the
    request's count against its client's limit, skipped for a client this instance knows to be
    unlimited), the code's record, then the one transaction that uses the code and starts the
    session. Its dependent chain is the longer of the first two plus the other two."""
    h = json.load(open(harness_json))
    per = [[ms for _, ms in calls] for calls in per_request(metrics_log)[1:]]  # the cold one aside
    bad = [len(c) for c in per if len(c) not in (3, 4)]
    if bad:
        raise SystemExit(f"expected 3 or 4 dependency calls per exchange, got {sorted(set(bad))}")
    names = ["client record (|| rate count): longer", "the code's record", "the exchange's transaction"]
    cols = [[max(c[:-2]) for c in per], [c[-2] for c in per], [c[-1] for c in per]]
    for name, v in zip(names, cols):
        print(f"  {name:<38} median {statistics.median(v):6.2f} ms")
    chain = statistics.median(max(c[:-2]) + c[-2] + c[-1] for c in per)
    whole = h["warm_median_ms"]
    print(f"  {'calls per exchange':<38} {calls_per(per)}")
    print(f"  {'dependent chain (longer of the pair)':<38} median {chain:6.2f} ms")
    print(f"  {'whole exchange (Runtime API, warm)':<38} median {whole:6.2f} ms, p90 {h['warm_p90_ms']:.2f} "
          f"(n={h['warm_n']}): {whole / chain:.2f}x its chain")


def calls_per(groups):
    """How many requests made how many dependency calls, e.g. `5 calls: 199`."""
    counts = {}
    for g in groups:
        counts[len(g)] = counts.get(len(g), 0) + 1
    return ", ".join(f"{n} calls: {k}" for n, k in sorted(counts.items()))


def authorizer_event(fixture, token_response):
    proxy = json.load(open(token_response))
    if proxy.get("statusCode") != 200:
        raise SystemExit(f"the token function did not issue a token: {proxy}")
    token = json.loads(proxy["body"])["access_token"]
    e = json.load(open(fixture))
    e["authorizationToken"] = f"Bearer {token}"
    e["methodArn"] = "arn:aws:execute-api:us-east-1:123456789012:example/prod/GET/orders/1"
    print(json.dumps(e))


def metric_lines(metrics_log):
    """Every EMF metric document in a function's stdout, parsed, in the order written."""
    for line in open(metrics_log, errors="replace"):
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            yield json.loads(line)


def per_request(metrics_log):
    """The dependency calls of each request: `[(dependency, ms), ...]` per request in the order
    they ended, split at each request's own `Requests` line (written when the request ends,
    after its calls' lines: one per dependency, a value per call). How
    many calls a request makes is not fixed: a client this instance knows to be unlimited is
    not counted, and a lockout counter is reset only when something was counted."""
    out, calls = [], []
    for m in metric_lines(metrics_log):
        if "DependencyLatency" in m:
            latency = m["DependencyLatency"]
            if isinstance(latency, list):
                # A request's calls of one dependency: one line, a value per call, and each
                # call's place among all the request's calls (`Order`).
                order = m.get("Order", list(range(len(latency))))
                calls.extend((i, m["Dependency"], float(x)) for i, x in zip(order, latency))
            else:
                # One call on its own line (a cold start's, before any request): first.
                calls.append((-1, m["Dependency"], float(latency)))
        elif "Requests" in m:
            out.append([(d, x) for _, d, x in sorted(calls, key=lambda c: c[0])])
            calls = []
    if calls:
        raise SystemExit(f"{len(calls)} dependency calls after the last request's line")
    return out


def io_chain(harness_json, metrics_log):
    """A password grant makes six to eight calls: the client record (concurrently with the
    request's count against its client's rate limit, skipped for a client this instance knows to
    be unlimited), the attempt reservation, the auth endpoint, then the new session's three
    puts, the family and its two companions (concurrently with each other and with the
    counter's reset, skipped when nothing was counted). Its dependent chain is the longer of
    the first pair, the next two, and the longest of the last group."""
    h = json.load(open(harness_json))
    grants = per_request(metrics_log)[1:]  # the cold one aside
    chains, cols = [], [[], [], [], []]
    for g in grants:
        deps = [d for d, _ in g]
        if "auth_endpoint" not in deps:
            raise SystemExit(f"a grant without its auth endpoint call: {deps}")
        i = deps.index("auth_endpoint")
        ms = [x for _, x in g]
        if i not in (2, 3) or len(g) - i - 1 not in (3, 4):
            raise SystemExit(f"unexpected calls for a grant: {deps}")
        parts = [max(ms[:i - 1]), ms[i - 1], ms[i], max(ms[i + 1:])]
        for col, x in zip(cols, parts):
            col.append(x)
        chains.append(sum(parts))
    names = ["client record (|| rate count): longer", "attempt reservation (DynamoDB)",
             "auth endpoint", "session's 3 puts (|| reset): longest (DynamoDB)"]
    for name, v in zip(names, cols):
        print(f"  {name:<38} median {statistics.median(v):6.2f} ms")
    chain = statistics.median(chains)
    grant = h["warm_median_ms"]
    print(f"  {'calls per grant':<38} {calls_per(grants)}")
    print(f"  {'dependent chain (longer of each pair)':<38} median {chain:6.2f} ms")
    print(f"  {'whole grant (Runtime API, warm)':<38} median {grant:6.2f} ms, p90 {h['warm_p90_ms']:.2f} "
          f"(n={h['warm_n']}): {grant / chain:.2f}x its chain")


def cold_table(pairs):
    print(f"  {'function':<44} {'exec->ready':>12} {'(CPU)':>9} {'exec->answer':>13} {'peak RSS':>9}")
    for pair in pairs:
        name, path = pair.split("=", 1)
        h = json.load(open(path))
        lo, hi = h["ready_min_max"]
        print(f"  {name:<44} {h['ready_ms']:9.1f} ms {h['ready_cpu_ms']:6.1f} ms {h['first_ms']:10.1f} ms {h['rss_mib']:6.1f} MiB"
              f"   (n={h['runs']}, ready {lo:.1f}-{hi:.1f})")


def cost(price_gb_s, price_req, pairs):
    price_gb_s, price_req = float(price_gb_s), float(price_req)
    print(f"  {'function':<24} {'MB':>4} {'init':>9} {'warm median':>12} {'billed mean':>12} {'$ per 1M':>9}")
    for pair in pairs:
        label, path = pair.split("=", 1)
        name, mb = label.rsplit(":", 1)
        h = json.load(open(path))
        billed = h["warm_billed_mean_ms"]
        per_million = price_req + 1e6 * (int(mb) / 1024) * (billed / 1000) * price_gb_s
        print(f"  {name:<24} {mb:>4} {h['ready_ms']:6.1f} ms {h['warm_median_ms']:9.2f} ms "
              f"{billed:9.2f} ms {per_million:9.3f}")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "grant-event":
        grant_event(*args)
    elif cmd == "authorizer-event":
        authorizer_event(*args)
    elif cmd == "io-chain":
        io_chain(*args)
    elif cmd == "cold-table":
        cold_table(args)
    elif cmd == "cost":
        cost(args[0], args[1], args[2:])
    elif cmd == "authorize-event":
        authorize_event(*args)
    elif cmd == "sign-in-events":
        sign_in_events(*args)
    elif cmd == "exchange-events":
        exchange_events(*args)
    elif cmd == "page-figures":
        page_figures(*args)
    elif cmd == "exchange-chain":
        exchange_chain(*args)
    elif cmd == "refresh-events":
        refresh_events(*args)
    elif cmd == "vs-table":
        vs_table(args)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
