#!/usr/bin/env python3
"""Measures the foundation: start-up time to the first answered GetCallerIdentity,
GetCallerIdentity throughput and latency over HTTP with SigV4 (wrk, 1 and 32
connections, with /_mamori/health as the same-run baseline without SigV4 or the
model), and resident memory when idle and after load.

Usage: cargo build --release --bin mamori && python3 scripts/bench_server.py
Needs wrk (apt-get install wrk)."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import free_port, sigv4_headers  # noqa: E402

BINARY = os.environ.get("MAMORI_BIN", str(ROOT / "target" / "release" / "mamori"))
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def spawn(*extra):
    port = free_port()
    proc = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log", "warn", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


def signed_request(url):
    headers = sigv4_headers("POST", url, "/", "", {"content-type": "application/x-www-form-urlencoded"},
                            BODY, "sts", "us-east-1", "test", "test")
    return urllib.request.Request(url + "/", data=BODY, method="POST", headers=headers)


def startup_ms(*extra):
    t0 = time.perf_counter()
    proc, url = spawn(*extra)
    try:
        while True:
            try:
                with urllib.request.urlopen(signed_request(url), timeout=1) as r:
                    if r.status == 200:
                        return (time.perf_counter() - t0) * 1000
            except OSError:
                time.sleep(0.001)
    finally:
        proc.kill()
        proc.wait()


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def signed_lua(url, body=BODY, service="sts", key="test", secret="test"):
    """A wrk script replaying one SigV4-signed query request, GetCallerIdentity by
    default (valid 15 minutes; the server verifies the whole signature every time)."""
    headers = sigv4_headers("POST", url, "/", "", {"content-type": "application/x-www-form-urlencoded"},
                            body, service, "us-east-1", key, secret)
    lua = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    lua.write('wrk.method = "POST"\nwrk.body = "%s"\n' % body.decode())
    for k, v in headers.items():
        if k != "host":
            lua.write(f'wrk.headers["{k}"] = "{v}"\n')
    lua.close()
    return lua.name


def wrk(url, connections, threads, lua=None, seconds=8):
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if lua:
        args += ["-s", lua]
    out = subprocess.run(args + [url + ("/" if lua else "/_mamori/health")], capture_output=True, text=True).stdout
    rps = next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec"))
    lat = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            lat[parts[0]] = parts[1]
    non2xx = next((line.split()[-1] for line in out.splitlines() if "Non-2xx" in line), "0")
    return float(rps), lat, non2xx


def main():
    for label, extra in [("in memory", ["--in-memory"]), ("data dir", ["--data-dir", tempfile.mkdtemp()])]:
        runs = [startup_ms(*extra) for _ in range(15)]
        print(f"start-up to first GetCallerIdentity ({label}): median {statistics.median(runs):.1f} ms, "
              f"min {min(runs):.1f} ms, max {max(runs):.1f} ms over {len(runs)} runs")

    proc, url = spawn("--in-memory")
    time.sleep(0.3)
    urllib.request.urlopen(signed_request(url)).read()
    time.sleep(0.5)
    print(f"idle RSS after one request: {rss_mb(proc.pid):.1f} MB")
    lua = signed_lua(url)
    for connections, threads in [(1, 1), (32, 2)]:
        rps, lat, non2xx = wrk(url, connections, threads, lua)
        base, blat, _ = wrk(url, connections, threads)
        print(f"GetCallerIdentity, {connections} connection(s): {rps:,.0f} req/s, p50 {lat.get('50%')}, "
              f"p99 {lat.get('99%')}, non-2xx {non2xx}; baseline /_mamori/health {base:,.0f} req/s, p99 {blat.get('99%')}")
    print(f"RSS after load: {rss_mb(proc.pid):.1f} MB")
    proc.kill()


if __name__ == "__main__":
    main()
