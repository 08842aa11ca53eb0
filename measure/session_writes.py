#!/usr/bin/env python3
"""A session's writes with its index entries on the family (earlier releases) and on write-once
companions (this release), against a running DynamoDB Local:

- the sign-in: a transaction of the family (with its index keys), its first token and the
  `session#` companion, against one of the family (without), the token and both companions;
- the rotation (the successor's put, then the family's conditional update) of a family that
  carries its index keys, against one that does not.

Prints each write's consumed capacity (`ReturnConsumedCapacity=INDEXES`) and, over several
rounds, the median time of each. The items have the shapes and sizes of Tollgate's.

usage: .venv/bin/python measure/session_writes.py --endpoint http://127.0.0.1:8000
           [--rounds 3] [--count 300]
(`make dynamodb` serves DynamoDB Local on port 8000; the script makes and drops its own table.)
"""

import argparse
import statistics
import time
import uuid

from rotation_writes import (N, S, advance, connect, successor_put, token_item, tokens_table,
                             units)

SUB = "sha256:abc"


def family_item(family, current, own_keys):
    item = {
        "pk": S(f"family#{family}"), "kind": S("family"), "client_id": S("measure-app"),
        "sub": S("user-0001"), "status": S("active"), "current_token": S(current),
        "created_at": N(1_800_000_000), "access_until": N(1_800_000_900),
        "expires_at": N(4_000_000_000),
    }
    if own_keys:
        item["session_pk"] = S(f"sub#{SUB}")
        item["session_sk"] = S(f"client#measure-app#{family}")
    else:
        item["companions"] = {"BOOL": True}
    return item


def companion(kind, family, pk, sk):
    return {
        "pk": S(f"{kind}#{family}"), "kind": S(kind), "family_id": S(family),
        "session_pk": S(pk), "session_sk": S(sk), "expires_at": N(4_000_000_000),
    }


def put_new(table, item):
    return {"Put": {"TableName": table, "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def sign_in(db, table, own_keys, capacity="NONE"):
    family, first = uuid.uuid4().hex, uuid.uuid4().hex
    items = [
        family_item(family, first, own_keys),
        token_item(first, family),
        companion("session", family, "client#measure-app", f"family#{family}"),
    ]
    if not own_keys:
        items.append(companion("usersession", family, f"user#{SUB}",
                               f"client#measure-app#{family}"))
    out = db.transact_write_items(TransactItems=[put_new(table, i) for i in items],
                                  ReturnConsumedCapacity=capacity)
    return (family, first), out.get("ConsumedCapacity", [])


def rotate(db, table, family, old, new, capacity="NONE"):
    a = db.put_item(**successor_put(table, new, family), ReturnConsumedCapacity=capacity)
    b = db.update_item(**advance(table, family, old, new), ReturnConsumedCapacity=capacity)
    return [a.get("ConsumedCapacity"), b.get("ConsumedCapacity")]


def median_ms(calls):
    times = []
    for call in calls:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()
    db = connect(args.endpoint)
    table = tokens_table(db, "measure-sessions")
    ways = (("keys on the family", True), ("keys on companions", False))
    try:
        for name, own_keys in ways:
            (family, first), signed = sign_in(db, table, own_keys, "INDEXES")
            t, i = units(signed)
            print(f"{name}: sign-in write units {t + i:g} (table {t:g}, index {i:g})", end="; ")
            t, i = units(rotate(db, table, family, first, uuid.uuid4().hex, "INDEXES"))
            print(f"rotation write units {t + i:g} (table {t:g}, index {i:g})")
        for r in range(args.rounds):
            figures = []
            for name, own_keys in ways:
                signs = median_ms(lambda: sign_in(db, table, own_keys) for _ in range(args.count))
                (family, current), _ = sign_in(db, table, own_keys)
                state = {"current": current}

                def one():
                    new = uuid.uuid4().hex
                    rotate(db, table, family, state["current"], new)
                    state["current"] = new

                rotations = median_ms(one for _ in range(args.count))
                figures.append((name, signs, rotations))
            (_, s0, r0), (_, s1, r1) = figures
            print(f"round {r + 1}: medians of {args.count}: sign-in {s0:.2f} -> {s1:.2f} ms "
                  f"({s1 / s0:.2f}x), rotation {r0:.2f} -> {r1:.2f} ms ({r1 / r0:.2f}x)")
    finally:
        db.delete_table(TableName=table)


if __name__ == "__main__":
    main()
