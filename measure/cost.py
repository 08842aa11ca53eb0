#!/usr/bin/env python3
"""`make cost`: prices what tests/it/fault/cost.rs measured (its JSON report: per operation, the
DynamoDB read and write units by table and index, the log bytes written, the function's own
latency) per million operations by service, and per monthly active user for the profile of
docs/performance.md, beside Amazon Cognito's per-MAU prices. Standard library only.

  python3 measure/cost.py REPORT.json

Every price is US East (N. Virginia), with the page it was read from and the date (the PRICES
table below; docs/performance.md cites the same).
"""

import json
import math
import sys

READ_ON = "2026-12-07"
# (price, unit, source). Read on READ_ON from the stored copies of these pages.
PRICES = {
    "apigw_rest": (3.50, "per million requests (first 333 million a month)",
                   "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html"),
    "apigw_http": (1.00, "per million requests (first 300 million a month)",
                   "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html"),
    "lambda_req": (0.20, "per million requests", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": (0.0000133334, "per GB-second, arm64 (first 7.5 billion GB-s a month)",
                    "https://aws.amazon.com/lambda/pricing/"),
    "ddb_rru": (0.125, "per million read request units, on-demand",
                "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "ddb_wru": (0.625, "per million write request units, on-demand",
                "https://aws.amazon.com/dynamodb/pricing/on-demand/"),
    "logs_gb": (0.50, "per GB ingested (Lambda logs, first 10 TB a month)",
                "https://aws.amazon.com/cloudwatch/pricing/"),
    "secrets_call": (0.05, "per 10,000 API calls", "https://aws.amazon.com/secrets-manager/pricing/"),
    "cognito_lite": (0.0055, "per MAU above the 10,000 free (10,001-100,000 MAUs)",
                     "https://aws.amazon.com/cognito/pricing/"),
    "cognito_essentials": (0.015, "per MAU above the 10,000 free",
                           "https://aws.amazon.com/cognito/pricing/"),
}
# template.yaml: MemorySize of each function.
MEMORY_MB = {"token": 256, "authorizer": 256}
# Billed milliseconds per invocation: `make measure`'s billed mean at 256 MB under the CPU quota
# (docs/performance.md, third round: 9.79 ms for a password grant, 1.21 ms for a decision),
# rounded up as Lambda bills. The latency this run logs is a debug build's against DynamoDB
# Local on a loaded machine, shown but not priced. In AWS each DynamoDB round trip adds a few
# milliseconds: at 4 sequential calls, about +15 ms, $0.05 more per million grants.
BILLED_MS = {"token": 10, "authorizer": 2}
# Secrets Manager reads at a token-function cold start: the signing key and the client-secret
# pepper (a previous pepper or an auth-endpoint credential add one each); the authorizer reads
# none. Priced at one cold start per 1,000 invocations.
SECRETS_PER_COLD_START = 2
COLD_STARTS_PER_MILLION = 1000
# The profile of one monthly active user (issue 23).
PROFILE = {"sign_ins": 30, "refreshes": 960, "api_calls": 30_000}
ACCESS_TOKEN_TTL = 900  # template.yaml AccessTokenTtl default; a refresh every 15 minutes
CACHE_TTLS = [300, 0]  # template.yaml AuthorizerCacheTtl default, and issue 19's 0
# What CloudWatch bills per log event on top of its bytes (PutLogEvents counts 26 bytes an event).
LOG_EVENT_OVERHEAD = 26


def price(key):
    return PRICES[key][0]


def units(m):
    return sum(m.values())


def function_of(op):
    return "authorizer" if op["operation"].startswith("authorizer") else "token"


def per_million(op):
    """The bill of a million of `op`, by service."""
    fn = function_of(op)
    billed_s = BILLED_MS[fn] / 1000
    gb_s = MEMORY_MB[fn] / 1024 * billed_s
    logs_gb = (op["log_bytes"] + LOG_EVENT_OVERHEAD * op["log_lines"]) / 1e9
    bill = {
        "lambda": price("lambda_req") + 1e6 * gb_s * price("lambda_gb_s"),
        "dynamodb": units(op["read"]) * price("ddb_rru") + units(op["write"]) * price("ddb_wru"),
        "logs": 1e6 * logs_gb * price("logs_gb"),
        "secrets": 0.0,
        "apigw_rest": 0.0,
        "apigw_http": 0.0,
    }
    if fn == "token":
        bill["secrets"] = COLD_STARTS_PER_MILLION * SECRETS_PER_COLD_START * price("secrets_call") / 1e4
        bill["apigw_rest"] = price("apigw_rest")
        bill["apigw_http"] = price("apigw_http")
    # The authorizer's invocation is part of the API call it guards: API Gateway bills that
    # call once, with or without the authorizer, so no API Gateway line here.
    return bill, gb_s


def fmt_units(m):
    return ", ".join(f"{k} {v:g}" for k, v in sorted(m.items())) or "0"


def main(path):
    ops = {o["operation"]: o for o in json.load(open(path))}
    print(f"\nPer operation (DynamoDB Local through the recording proxy; log bytes at INFO):")
    print(f"  {'operation':38} {'RRU':>4} {'WRU':>4} {'log B':>6} {'lines':>5} {'ms':>6} {'GB-s':>9}  write units by table/index")
    bills = {}
    for name, op in ops.items():
        bill, gb_s = per_million(op)
        bills[name] = bill
        print(f"  {name:38} {units(op['read']):>4g} {units(op['write']):>4g} {op['log_bytes']:>6} "
              f"{op['log_lines']:>5} {op['latency_ms']:>6.1f} {gb_s:>9.6f}  {fmt_units(op['write'])}")
    print("\nPer million operations, USD (API Gateway: REST / HTTP; Secrets Manager: cold starts):")
    print(f"  {'operation':38} {'REST':>6} {'HTTP':>6} {'Lambda':>7} {'DynamoDB':>8} {'Logs':>6} {'Secrets':>7} {'total REST':>10} {'total HTTP':>10}")
    for name, b in bills.items():
        base = b["lambda"] + b["dynamodb"] + b["logs"] + b["secrets"]
        print(f"  {name:38} {b['apigw_rest']:>6.2f} {b['apigw_http']:>6.2f} {b['lambda']:>7.3f} {b['dynamodb']:>8.3f} "
              f"{b['logs']:>6.3f} {b['secrets']:>7.3f} {base + b['apigw_rest']:>10.3f} {base + b['apigw_http']:>10.3f}")
    mau(ops, bills)
    print(f"\nPrices (US East, N. Virginia), read {READ_ON}:")
    for key, (p, unit, src) in PRICES.items():
        print(f"  {key:20} ${p:<12g} {unit}  {src}")


def total(bill, api):
    return (bill["lambda"] + bill["dynamodb"] + bill["logs"] + bill["secrets"] + bill[api]) / 1e6


def mau(ops, bills):
    grant, refresh = bills.get("password grant"), bills.get("refresh")
    fresh, cached = bills.get("authorizer, fresh"), bills.get("authorizer, cached")
    if not all([grant, refresh, fresh, cached]):
        return
    tokens = PROFILE["sign_ins"] + PROFILE["refreshes"]
    calls_per_token = PROFILE["api_calls"] / tokens
    print(f"\nPer monthly active user: {PROFILE['sign_ins']} sign-ins, {PROFILE['refreshes']} refreshes, "
          f"{PROFILE['api_calls']:,} API calls ({tokens} access tokens of {ACCESS_TOKEN_TTL} s, "
          f"{calls_per_token:.1f} calls each):")
    lite, ess = price("cognito_lite"), price("cognito_essentials")
    for ttl in CACHE_TTLS:
        # API Gateway asks the authorizer once per token per TTL (0: on every call); of those,
        # the first of a token is a fresh decision, the rest hit the authorizer's own cache
        # when they reach the same instance (counted as cached here).
        per_token = calls_per_token if ttl == 0 else min(calls_per_token, math.ceil(ACCESS_TOKEN_TTL / ttl))
        invocations = tokens * per_token
        authz = tokens * total(fresh, "apigw_http") + (invocations - tokens) * total(cached, "apigw_http")
        for api in ["apigw_rest", "apigw_http"]:
            sign_in = PROFILE["sign_ins"] * total(grant, api)
            ref = PROFILE["refreshes"] * total(refresh, api)
            whole = sign_in + ref + authz
            print(f"  AuthorizerCacheTtl {ttl:>3} s, token endpoint on {api[6:].upper():4}: "
                  f"${whole:.5f} (sign-ins ${sign_in:.5f}, refreshes ${ref:.5f}, "
                  f"authorizer ${authz:.5f} for {invocations:,.0f} invocations); "
                  f"{whole / lite:.2f}x Cognito Lite (${lite}), {whole / ess:.2f}x Essentials (${ess})")


if __name__ == "__main__":
    main(sys.argv[1])
