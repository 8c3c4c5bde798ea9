#!/usr/bin/env python3
"""PutLogEvents ingestion benchmark: CloudTrail-shaped events in batches (1,000 by
default) over HTTP with SigV4, into a log group carrying the 14 CIS metric filters, and
into one without filters as the baseline measured in the same run.

    cargo build --release --bin mamori
    /work/main/.venv/bin/python scripts/bench_logs.py --seconds 20 --workers 2

It starts its own server (release binary, on-disk store, --log warn) unless --url is
given. Requests are built and signed before the clock starts, so the client measures the
server, not Python's JSON encoder."""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from cis import CIS_CASES, CIS_FILTERS, record  # noqa: E402
from conftest import sigv4_headers  # noqa: E402

TARGET = "Logs_20140328."


def call(url, op, payload):
    body = json.dumps(payload).encode()
    headers = sigv4_headers("POST", url, "/", "", {"content-type": "application/x-amz-json-1.1",
                                                    "x-amz-target": TARGET + op}, body, "logs", "us-east-1", "test", "test")
    req = urllib.request.Request(url + "/", data=body, method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def messages(n):
    """A CloudTrail-like mix: mostly reads that match nothing, some CIS hits."""
    hits = [hit for hit, _ in CIS_CASES.values()]
    misses = [miss for _, miss in CIS_CASES.values()]
    res = []
    for i in range(n):
        if i % 50 == 0:
            res.append(hits[(i // 50) % len(hits)])
        elif i % 3 == 0:
            res.append(misses[i % len(misses)])
        else:
            res.append(record("DescribeInstances", "ec2.amazonaws.com", requestParameters={"instancesSet": {"items": [{"instanceId": f"i-{i:017x}"}]}}))
    return res


def worker(url, group, stream, bodies, seconds, start_at, out):
    host = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
    while time.time() < start_at:
        time.sleep(0.001)
    sent = events = 0
    deadline = start_at + seconds
    latencies = []
    while time.time() < deadline:
        body, n = bodies[sent % len(bodies)]
        headers = sigv4_headers("POST", url, "/", "", {"content-type": "application/x-amz-json-1.1",
                                                        "x-amz-target": TARGET + "PutLogEvents"}, body, "logs", "us-east-1", "test", "test")
        t0 = time.perf_counter()
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 200:
            raise SystemExit(f"PutLogEvents failed: {resp.status} {data[:300]!r}")
        if b"rejectedLogEventsInfo" in data:
            raise SystemExit(f"events rejected: {data[:300]!r}")
        sent += 1
        events += n
    out.put((events, sent, latencies))


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc."""
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url, group, workers, seconds, batch, n_bodies, pid=None):
    base = int(time.time() * 1000)
    msgs = messages(batch)
    q = mp.Queue()
    procs = []
    start_at = time.time() + 2.0
    for w in range(workers):
        stream = f"bench-{w}"
        call(url, "CreateLogStream", {"logGroupName": group, "logStreamName": stream})
        bodies = []
        for b in range(n_bodies):
            ts = base + b
            events = [{"timestamp": ts, "message": m} for m in msgs]
            body = json.dumps({"logGroupName": group, "logStreamName": stream, "logEvents": events}).encode()
            bodies.append((body, len(events)))
        p = mp.Process(target=worker, args=(url, group, stream, bodies, seconds, start_at, q))
        p.start()
        procs.append(p)
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0 = cpu_seconds(pid)
    results = [q.get() for _ in procs]
    cpu = cpu_seconds(pid) - cpu0
    for p in procs:
        p.join()
    events = sum(r[0] for r in results)
    requests = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    p50 = lat[len(lat) // 2] * 1000 if lat else 0
    p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else 0
    per_cpu = events / cpu if cpu else 0
    return events / seconds, requests / seconds, p50, p99, per_cpu


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "mamori"))
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--bodies", type=int, default=8)
    ap.add_argument("--server-arg", action="append", default=[],
                    help="extra argument for `mamori serve` (e.g. --server-arg=--cloudtrail-recording=false)")
    args = ap.parse_args()
    proc = None
    data_dir = None
    url = args.url
    if not url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data_dir = tempfile.mkdtemp(prefix="mamori-bench-")
        proc = subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, "--log", "warn",
                                 *args.server_arg],
                                stderr=open(os.path.join(data_dir, "server.log"), "wb"))
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_mamori/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
    try:
        suffix = int(time.time())
        plain = f"bench-plain-{suffix}"
        cis = f"bench-cis-{suffix}"
        call(url, "CreateLogGroup", {"logGroupName": plain})
        call(url, "CreateLogGroup", {"logGroupName": cis})
        for name, pattern in CIS_FILTERS:
            call(url, "PutMetricFilter", {"logGroupName": cis, "filterName": f"CIS-{name}", "filterPattern": pattern,
                                          "metricTransformations": [{"metricName": name, "metricNamespace": "LogMetrics", "metricValue": "1"}]})
        print(f"batch={args.batch} workers={args.workers} seconds={args.seconds}")
        for label, group in [("no filters (baseline)", plain), ("14 CIS metric filters", cis)]:
            eps, rps, p50, p99, per_cpu = run(url, group, args.workers, args.seconds, args.batch, args.bodies,
                                              proc.pid if proc else None)
            print(f"{label:24} {eps:8.0f} events/s  {rps:6.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:7.1f} ms"
                  f"  {per_cpu:8.0f} events per server CPU-second")
        print("load average:", " ".join(f"{x:.1f}" for x in os.getloadavg()))
        check = call(url, "FilterLogEvents", {"logGroupName": cis, "limit": 1})
        assert check["events"], "no events stored"
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
