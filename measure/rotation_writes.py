#!/usr/bin/env python3
"""A refresh token's rotation written two ways, against a running DynamoDB Local: the
three-item transaction of earlier releases (retire the old token, advance the family, put the
successor) and today's two single-item writes (put the successor, then the family's
conditional update). Prints each way's consumed capacity (`ReturnConsumedCapacity=INDEXES`)
and, over several rounds, the median time of a rotation. The items have the shapes and sizes
of Tollgate's (a family carrying the sessions index keys, a token with its claims).

usage: .venv/bin/python measure/rotation_writes.py --endpoint http://127.0.0.1:8000
           [--rounds 3] [--rotations 300]
(`make dev` serves DynamoDB Local on port 8000; the script makes and drops its own table.)
"""

import argparse
import statistics
import time
import uuid

import boto3

S = lambda v: {"S": v}  # noqa: E731
N = lambda v: {"N": str(v)}  # noqa: E731
DETAILS = '{"email":"someone@example.com","name":"Some One","groups":["staff"]}'


def token_item(h, family):
    return {
        "pk": S(f"token#{h}"), "kind": S("token"), "family_id": S(family),
        "client_id": S("measure-app"), "sub": S("user-0001"), "scope": S("profile orders:read"),
        "details": S(DETAILS), "auth_time": N(1_800_000_000), "status": S("active"),
        "issued_at": N(1_800_000_000), "expires_at": N(4_000_000_000),
        "family_expires_at": N(4_000_000_000),
    }


def family_item(family, current):
    return {
        "pk": S(f"family#{family}"), "kind": S("family"), "client_id": S("measure-app"),
        "sub": S("user-0001"), "session_pk": S("sub#sha256:abc"),
        "session_sk": S(f"client#measure-app#{family}"), "status": S("active"),
        "current_token": S(current), "created_at": N(1_800_000_000),
        "access_until": N(1_800_000_900), "expires_at": N(4_000_000_000),
    }


def advance(table, family, old, new):
    return {
        "TableName": table, "Key": {"pk": S(f"family#{family}")},
        "UpdateExpression": "SET current_token = :new, refreshed_at = :now, "
        "access_until = :au, retired = :retired",
        "ConditionExpression": "#status = :active AND expires_at > :now AND "
        "(current_token = :old OR (current_token = :new AND retired.token_hash = :old))",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":new": S(new), ":old": S(old), ":active": S("active"), ":now": N(1_800_000_100),
            ":au": N(1_800_001_000),
            ":retired": {"M": {"token_hash": S(old), "rotated_at": N(1_800_000_100),
                               "successor_hash": S(new)}},
        },
    }


def successor_put(table, h, family):
    return {
        "TableName": table, "Item": token_item(h, family),
        "ConditionExpression": "attribute_not_exists(pk) OR #status = :active",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":active": S("active")},
    }


def retire(table, old, new):
    return {
        "TableName": table, "Key": {"pk": S(f"token#{old}")},
        "UpdateExpression": "SET #status = :rotated, rotated_at = :now, successor_hash = :next",
        "ConditionExpression": "#status = :active",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":rotated": S("rotated"), ":now": N(1_800_000_100),
                                      ":next": S(new), ":active": S("active")},
    }


def transaction(db, table, family, old, new, capacity="NONE"):
    legacy_advance = advance(table, family, old, new)
    return db.transact_write_items(
        TransactItems=[{"Update": retire(table, old, new)}, {"Update": legacy_advance},
                       {"Put": successor_put(table, new, family)}],
        ReturnConsumedCapacity=capacity,
    ).get("ConsumedCapacity", [])


def two_writes(db, table, family, old, new, capacity="NONE"):
    a = db.put_item(**successor_put(table, new, family), ReturnConsumedCapacity=capacity)
    b = db.update_item(**advance(table, family, old, new), ReturnConsumedCapacity=capacity)
    return [a.get("ConsumedCapacity"), b.get("ConsumedCapacity")]


def units(consumed):
    table = sum(c.get("Table", {}).get("CapacityUnits", 0) for c in consumed if c)
    index = sum(sum(i["CapacityUnits"] for i in c.get("GlobalSecondaryIndexes", {}).values())
                for c in consumed if c)
    return table, index


def session(db, table):
    family, first = uuid.uuid4().hex, uuid.uuid4().hex
    db.put_item(TableName=table, Item=family_item(family, first))
    db.put_item(TableName=table, Item=token_item(first, family))
    return family, first


def timed(db, table, way, rotations):
    family, current = session(db, table)
    times = []
    for _ in range(rotations):
        new = uuid.uuid4().hex
        start = time.perf_counter()
        way(db, table, family, current, new)
        times.append((time.perf_counter() - start) * 1000)
        current = new
    return statistics.median(times)


def connect(endpoint):
    """A DynamoDB client for DynamoDB Local at `endpoint` (any region and alphanumeric key)."""
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="measure", aws_secret_access_key="measure")


def tokens_table(db, prefix):
    """A new table shaped like Tollgate's tokens table (key `pk`, the `sessions` index with
    projection ALL), named `prefix` and a random suffix; the caller drops it."""
    table = f"{prefix}-{uuid.uuid4().hex[:8]}"
    db.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                              for a in ("pk", "session_pk", "session_sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "sessions", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "session_pk", "KeyType": "HASH"},
                          {"AttributeName": "session_sk", "KeyType": "RANGE"}]}],
    )
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rotations", type=int, default=300)
    args = ap.parse_args()
    db = connect(args.endpoint)
    table = tokens_table(db, "measure-rotation")
    try:
        for name, way in (("three-item transaction", transaction), ("two single writes", two_writes)):
            family, first = session(db, table)
            t, i = units(way(db, table, family, first, uuid.uuid4().hex, "INDEXES"))
            print(f"{name}: write units {t + i:g} (table {t:g}, index {i:g})")
        for r in range(args.rounds):
            tx = timed(db, table, transaction, args.rotations)
            two = timed(db, table, two_writes, args.rotations)
            print(f"round {r + 1}: median of {args.rotations} rotations: "
                  f"transaction {tx:.2f} ms, two writes {two:.2f} ms ({two / tx:.2f}x)")
    finally:
        db.delete_table(TableName=table)


if __name__ == "__main__":
    main()
