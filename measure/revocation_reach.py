#!/usr/bin/env python3
"""How fast a revocation reaches warm authorizers, and what revocation adds to a warm decision
(standard library only; `make measure` runs it).

reach     N authorizer processes, each behind a local Lambda Runtime API of its own, decide one
          session's token over and over (a decision every --pace-ms each); the token function,
          behind its own Runtime API, then revokes the session (`POST /revoke` of its refresh
          token). Per process: from the revocation's answer to the first `Unauthorized`. Over
          --trials sessions: p50, p99 and the largest, against the bound; and each process's
          reads of the revocation state per refresh interval (its `RevocationReads` EMF lines).
latency   one authorizer process without revocation, then one with it, each making --decisions
          warm decisions of the same token through the Runtime API (handed out -> answered),
          paced to span several refresh intervals: median, p99 and their difference.

usage: revocation_reach.py reach --token-bin T --authorizer-bin A --token-env F --authorizer-env F
           --grant-event F --client C --secret S [--instances 8] [--trials 20] [--bound 5]
       revocation_reach.py latency --authorizer-bin A --off-env F --on-env F --event F
           [--decisions 10000] [--pace-us 1500]
"""

import argparse
import base64
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
TIMEOUT_S = 30
ARN = "arn:aws:execute-api:us-east-1:123456789012:example/prod/GET/orders/1"


class Process:
    """One function process and the Runtime API it alone talks to."""

    def __init__(self, cmd, env, name):
        self.events = queue.Queue()
        self.done = queue.Queue()
        self.handed_ns = 0
        proc = self

        class Api(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=()):
                head = [f"HTTP/1.1 {status} OK"] + [f"{k}: {v}" for k, v in headers]
                head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
                self.wfile.write("\r\n".join(head).encode() + body)
                self.wfile.flush()

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self._reply(404)
                event = proc.events.get()
                if event is None:
                    self.close_connection = True
                    return
                headers = [
                    ("Lambda-Runtime-Aws-Request-Id", f"req-{time.perf_counter_ns()}"),
                    ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
                    ("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:123456789012:function:{name}"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                ]
                proc.handed_ns = time.perf_counter_ns()
                self._reply(200, event, headers)

            def do_POST(self):
                at = time.perf_counter_ns()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._reply(202, b'{"status":"OK"}')
                proc.done.put(("error" if self.path.endswith("/error") else "response", body, at))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.log = tempfile.NamedTemporaryFile(prefix=f"reach-{name}-", suffix=".log", delete=False)
        env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{self.server.server_address[1]}",
                   AWS_LAMBDA_FUNCTION_NAME=name, AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
                   AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_LOG_FORMAT="JSON")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)

    def invoke(self, event):
        """(kind, body, answered_ns, handed_ns) of one invocation."""
        self.events.put(event)
        try:
            kind, body, at = self.done.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise SystemExit(f"no answer in {TIMEOUT_S} s; its output: {self.log.name}")
        return kind, body, at, self.handed_ns

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.events.put(None)
        self.server.shutdown()

    def metric_sum(self, name):
        total = 0.0
        for line in open(self.log.name, errors="replace"):
            if name in line and line.startswith("{"):
                try:
                    total += float(json.loads(line).get(name, 0))
                except ValueError:
                    pass
        return total


def read_env(path):
    out = dict(os.environ)
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.strip('"')
    return out


def proxy_event(fixture, path, client, secret, body):
    e = json.load(open(fixture))
    basic = base64.b64encode(f"{client}:{secret}".encode()).decode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Basic {basic}",
               "Host": e["headers"].get("Host", "example.execute-api.us-east-1.amazonaws.com"),
               "X-Forwarded-Proto": "https"}
    e.update(httpMethod="POST", path=path, resource=path, pathParameters=None,
             queryStringParameters=None, multiValueQueryStringParameters=None, headers=headers,
             multiValueHeaders={k: [v] for k, v in headers.items()}, body=body, isBase64Encoded=False)
    e["requestContext"].update(path=f"/prod{path}", stage="prod", httpMethod="POST", resourcePath=path)
    return json.dumps(e).encode()


def token_event(access):
    return json.dumps({"type": "TOKEN", "authorizationToken": f"Bearer {access}", "methodArn": ARN}).encode()


def allowed(kind, body):
    return kind == "response" and b'"Allow"' in body


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * len(v)))]


def reach(a):
    token = Process([a.token_bin], read_env(a.token_env), "token")
    auth_env = read_env(a.authorizer_env)
    authorizers = [Process([a.authorizer_bin], auth_env, f"authorizer-{i}") for i in range(a.instances)]
    started = time.monotonic()
    samples = []
    try:
        for trial in range(a.trials):
            kind, body, _, _ = token.invoke(open(a.grant_event, "rb").read())
            tokens = json.loads(json.loads(body)["body"])
            event = token_event(tokens["access_token"])
            first_refusal = [None] * a.instances
            revoking = threading.Event()
            stop = threading.Event()

            def drive(i):
                while not stop.is_set():
                    kind, body, at, _ = authorizers[i].invoke(event)
                    if not allowed(kind, body):
                        if not revoking.is_set():
                            print(f"  instance {i} refused before the revocation: {body[:200]}", file=sys.stderr)
                            return
                        first_refusal[i] = at
                        return
                    time.sleep(a.pace_ms / 1000)

            threads = [threading.Thread(target=drive, args=(i,), daemon=True) for i in range(a.instances)]
            for t in threads:
                t.start()
            # Warm and at a random point of each instance's refresh interval.
            time.sleep(1.0 + random.random() * a.bound)
            revoke = proxy_event(a.grant_fixture, "/revoke", a.client, a.secret, f"token={tokens['refresh_token']}")
            revoking.set()
            kind, body, at, _ = token.invoke(revoke)
            if b'"statusCode":200' not in body.replace(b" ", b""):
                raise SystemExit(f"revoke failed: {body[:300]}")
            for t in threads:
                t.join(timeout=a.bound + 10)
            stop.set()
            for i, f in enumerate(first_refusal):
                if f is None:
                    raise SystemExit(f"instance {i} still allowed the token {a.bound + 10} s after the revocation")
                # A read may see the entry before the revocation's answer arrives: 0 then.
                samples.append(max(0.0, (f - at) / 1e9))
            print(f"  trial {trial + 1}/{a.trials}: slowest instance {max(samples[-a.instances:]):.2f} s", file=sys.stderr)
        run_s = time.monotonic() - started
        interval = max(a.bound - min(1.0, a.bound / 4), 0.001)
        reads = [p.metric_sum("RevocationReads") for p in authorizers]
        p99 = pct(samples, 0.99)
        print(f"  revocation seen by {a.instances} warm instances, {len(samples)} samples over {a.trials} sessions:")
        print(f"    median {statistics.median(samples):.2f} s, p99 {p99:.2f} s, largest {max(samples):.2f} s"
              f" (target: p99 <= bound + 1 s = {a.bound + 1:.0f} s: {'met' if p99 <= a.bound + 1 else 'missed'})")
        print(f"    reads per instance per {interval:.2f} s interval: largest {max(reads) / (run_s / interval):.2f},"
              f" mean {statistics.mean(reads) / (run_s / interval):.2f} (a decision every {a.pace_ms} ms per instance,"
              f" {run_s:.0f} s; the cold read counted)")
    finally:
        token.stop()
        for p in authorizers:
            p.stop()


def latency_run(cmd, env, event, n, pace_us, name):
    p = Process(cmd, env, name)
    out = []
    try:
        p.invoke(event)  # the cold start
        for _ in range(n):
            kind, body, at, handed = p.invoke(event)
            if not allowed(kind, body):
                raise SystemExit(f"{name}: not allowed: {body[:200]}")
            out.append((at - handed) / 1e3)
            time.sleep(pace_us / 1e6)
        reads = p.metric_sum("RevocationReads")
    finally:
        p.stop()
    return out, reads


def latency(a):
    event = open(a.event, "rb").read()
    off, _ = latency_run([a.authorizer_bin], read_env(a.off_env), event, a.decisions, a.pace_us, "off")
    on, reads = latency_run([a.authorizer_bin], read_env(a.on_env), event, a.decisions, a.pace_us, "on")
    print(f"  warm decisions through the Runtime API, {a.decisions} each (µs, handed out -> answered):")
    for label, v in (("revocation off", off), ("revocation on", on)):
        print(f"    {label:<16} median {statistics.median(v):8.1f}  p99 {pct(v, 0.99):8.1f}  largest {max(v):8.1f}")
    added = pct(on, 0.99) - pct(off, 0.99)
    print(f"    p99 added by revocation: {added:.1f} µs (target <= 500 µs: {'met' if added <= 500 else 'missed'});"
          f" {reads:.0f} reads of the state during the run")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("reach")
    r.add_argument("--token-bin", required=True)
    r.add_argument("--authorizer-bin", required=True)
    r.add_argument("--token-env", required=True)
    r.add_argument("--authorizer-env", required=True)
    r.add_argument("--grant-event", required=True)
    r.add_argument("--grant-fixture", required=True)
    r.add_argument("--client", required=True)
    r.add_argument("--secret", required=True)
    r.add_argument("--instances", type=int, default=8)
    r.add_argument("--trials", type=int, default=20)
    r.add_argument("--bound", type=float, default=5.0)
    r.add_argument("--pace-ms", type=float, default=20.0)
    l = sub.add_parser("latency")
    l.add_argument("--authorizer-bin", required=True)
    l.add_argument("--off-env", required=True)
    l.add_argument("--on-env", required=True)
    l.add_argument("--event", required=True)
    l.add_argument("--decisions", type=int, default=10_000)
    l.add_argument("--pace-us", type=float, default=1_500.0)
    a = ap.parse_args()
    reach(a) if a.mode == "reach" else latency(a)


if __name__ == "__main__":
    sys.exit(main())
