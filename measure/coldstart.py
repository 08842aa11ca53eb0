#!/usr/bin/env python3
"""A local Lambda Runtime API that times a function's cold start (standard library only).

Each start execs the function with AWS_LAMBDA_RUNTIME_API pointing here and measures:
  ready   exec -> the first `GET /runtime/invocation/next` (the init phase Lambda bills on a
          custom runtime), wall-clock and CPU time (which other load on the machine leaves alone);
  first   exec -> the first invocation's response (init + the first event);
  rss     peak resident memory (VmHWM of /proc/<pid>/status) after that response;
  warm    optionally, N more invocations of the same event in the same process: from handing
          out the event to receiving its response (what Lambda bills per warm request).
With --cpu-quota F the function runs in a cgroup (v1 `cpu` controller) limited to F of one CPU,
the share Lambda gives a memory size (1,769 MB = 1 vCPU). Prints one JSON object on stdout.

With --events FILE (JSON lines), invocation i gets line i (the first the cold one), and
--responses-out FILE keeps every response, one JSON line each: a sequence whose events differ
(a code exchange per code).

usage: coldstart.py --event FILE | --events FILE [--runs 15] [--warm 0] [--env-file F]
                    [--cpu-quota F] [--memory MB] [--response-out FILE] [--responses-out FILE]
                    [--stdout FILE] -- COMMAND [ARGS...]
"""

import argparse
import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
START_TIMEOUT_S = 30


class Start:
    """What one start of the function reported, filled in by the server threads."""

    def __init__(self, event: bytes, invocations: int):
        self.events = queue.Queue()
        self.done = queue.Queue()  # ("response" | "error", body, ns)
        self.event = event
        self.left = invocations
        self.ready_ns = None
        self.ready_cpu_ms = None
        self.pid = None
        self.waiting = threading.Event()  # the function is blocked in GET /next again
        self.handed_ns = None


class RuntimeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    start = None  # the current Start, set by the harness

    def log_message(self, *args):
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes = b"", headers=()):
        # One write for head and body, on a socket without Nagle's algorithm: a head and a body
        # sent apart can wait for the client's delayed ACK (~40 ms), which no runtime should pay.
        head = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}"]
        head += [f"{k}: {v}" for k, v in headers]
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
        self.wfile.write("\r\n".join(head).encode() + body)
        self.wfile.flush()

    def do_GET(self):
        now = time.perf_counter_ns()
        s = RuntimeApi.start
        if self.path != PREFIX + "/invocation/next" or s is None:
            return self._reply(404, b'{"errorType":"NotFound"}')
        if s.ready_ns is None:
            s.ready_ns = now
            s.ready_cpu_ms = cpu_ms(s.pid)
        s.waiting.set()
        event = s.events.get()
        if event is None:  # the harness is done with this process
            self.close_connection = True
            return
        s.waiting.clear()
        request_id = f"req-{time.perf_counter_ns()}"
        deadline = str(int(time.time() * 1000) + 30_000)
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", request_id),
            ("Lambda-Runtime-Deadline-Ms", deadline),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:measured"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
        ]
        s.handed_ns = time.perf_counter_ns()
        self._reply(200, event, headers)

    def do_POST(self):
        now = time.perf_counter_ns()
        body = self._body()
        s = RuntimeApi.start
        self._reply(202, b'{"status":"OK"}')
        if s is None:
            return
        if self.path.endswith("/response"):
            s.done.put(("response", body, now))
        elif self.path.endswith("/error"):
            s.done.put(("error", body, now))


def cpu_ms(pid) -> float:
    """CPU time all threads of `pid` have run so far (schedstat, nanoseconds): unlike wall-clock
    time, it does not grow when other processes share the machine."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, TypeError):
        return float("nan")
    return total / 1e6


def vm_hwm_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc status")


class CpuQuota:
    """A cgroup v1 `cpu` group limited to `share` of one CPU (CFS quota per 100 ms period)."""

    PERIOD_US = 100_000

    def __init__(self, share: float):
        self.path = f"/sys/fs/cgroup/cpu/tollgate-coldstart-{os.getpid()}"
        os.makedirs(self.path, exist_ok=True)
        with open(f"{self.path}/cpu.cfs_period_us", "w") as f:
            f.write(str(self.PERIOD_US))
        with open(f"{self.path}/cpu.cfs_quota_us", "w") as f:
            f.write(str(max(1000, int(share * self.PERIOD_US))))

    def enter(self):
        """Runs in the child between fork and exec: the function starts inside the group."""
        with open(f"{self.path}/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))

    def remove(self):
        try:
            os.rmdir(self.path)
        except OSError:
            pass


def run_once(cmd, env, events, warm, quota, port, stdout):
    event = events[0]
    s = Start(event, 1 + warm)
    s.events.put(event)
    responses = []
    RuntimeApi.start = s
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}")
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=stdout or subprocess.DEVNULL,
        stderr=subprocess.PIPE, preexec_fn=quota.enter if quota else None,
    )
    s.pid = proc.pid
    stderr = []
    threading.Thread(target=lambda: stderr.append(proc.stderr.read()), daemon=True).start()
    first = None
    warm_ms = []
    try:
        for i in range(1 + warm):
            try:
                kind, body, at = s.done.get(timeout=START_TIMEOUT_S)
            except queue.Empty:
                raise SystemExit(f"no answer within {START_TIMEOUT_S} s (exit code {proc.poll()})")
            if kind == "error":
                raise SystemExit(f"the function reported an error: {body.decode(errors='replace')}")
            responses.append(body)
            if i == 0:
                first = (at, body)
            else:
                warm_ms.append((at - s.handed_ns) / 1e6)
            if i < warm:
                s.waiting.wait(START_TIMEOUT_S)
                s.events.put(events[(i + 1) % len(events)])
        if not s.waiting.wait(START_TIMEOUT_S):
            raise SystemExit("the function did not ask for its next event")
        rss = vm_hwm_kb(proc.pid)
    except SystemExit as e:
        proc.kill()
        proc.wait()
        tail = b"".join(stderr).decode(errors="replace")[-2000:]
        raise SystemExit(f"{cmd[0]}: {e}\n{tail}")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        s.events.put(None)
    return {
        "ready_ms": (s.ready_ns - t0) / 1e6,
        "ready_cpu_ms": s.ready_cpu_ms,
        "first_ms": (first[0] - t0) / 1e6,
        "rss_kb": rss,
        "warm_ms": warm_ms,
        "response": first[1],
        "responses": responses,
    }


def read_env_file(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v.strip('"')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--event")
    ap.add_argument("--events")
    ap.add_argument("--responses-out")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warm", type=int, default=0)
    ap.add_argument("--env-file")
    ap.add_argument("--cpu-quota", type=float)
    ap.add_argument("--memory", default="256")
    ap.add_argument("--response-out")
    ap.add_argument("--stdout", help="append the function's standard output (its log and metric lines) here")
    ap.add_argument("cmd", nargs="+")
    a = ap.parse_args()
    if bool(a.event) == bool(a.events):
        raise SystemExit("give --event or --events")
    if a.event:
        events = [open(a.event, "rb").read()]
    else:
        events = [l.encode() for l in open(a.events).read().splitlines() if l.strip()]
    env = dict(os.environ)
    if a.env_file:
        env.update(read_env_file(a.env_file))
    env.update(
        AWS_LAMBDA_FUNCTION_NAME="measured", AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=a.memory, AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/measured",
        AWS_LAMBDA_LOG_STREAM_NAME="local", AWS_LAMBDA_LOG_FORMAT="JSON",
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    quota = CpuQuota(a.cpu_quota) if a.cpu_quota else None
    runs = []
    stdout = open(a.stdout, "ab") if a.stdout else None
    try:
        for _ in range(a.runs):
            runs.append(run_once(a.cmd, env, events, a.warm, quota, server.server_address[1], stdout))
    finally:
        if quota:
            quota.remove()
    if a.response_out:
        open(a.response_out, "wb").write(runs[0]["response"])
    if a.responses_out:
        with open(a.responses_out, "wb") as f:
            for r in runs:
                for body in r["responses"]:
                    f.write(body.replace(b"\n", b" ") + b"\n")
    warm = [w for r in runs for w in r["warm_ms"]]
    med = lambda k: statistics.median(r[k] for r in runs)
    out = {
        "runs": len(runs),
        "ready_ms": round(med("ready_ms"), 2),
        "first_ms": round(med("first_ms"), 2),
        "ready_cpu_ms": round(med("ready_cpu_ms"), 2),
        "ready_min_max": [round(min(r["ready_ms"] for r in runs), 2), round(max(r["ready_ms"] for r in runs), 2)],
        "rss_mib": round(med("rss_kb") / 1024, 1),
    }
    if warm:
        warm.sort()
        out["warm_n"] = len(warm)
        out["warm_median_ms"] = round(statistics.median(warm), 3)
        out["warm_p90_ms"] = round(warm[min(len(warm) - 1, int(0.9 * len(warm)))], 3)
        # Lambda bills each invocation's duration rounded up to the millisecond.
        out["warm_billed_mean_ms"] = round(statistics.mean(math.ceil(w) for w in warm), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
