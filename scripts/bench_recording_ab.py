#!/usr/bin/env python3
"""Recording cost of two binaries in one run: for each binary a server with recording
off and one with it on (GetCallerIdentity, wrk, 32 connections, `--in-memory`), run in
rounds that alternate base and new (base off, base on, new off, new on, ...), reporting
per run the server's CPU time per request (utime + stime of the process, from /proc) and
the part spent on the CloudTrail writer thread. CPU per request is the stable measure on
a shared machine; requests/s is printed but swings with other load.

Usage: .venv/bin/python scripts/bench_recording_ab.py BASE_BINARY NEW_BINARY [SECONDS] [ROUNDS]
BENCH_SERVICE and BENCH_BODY pick another signed query call than GetCallerIdentity (for
example BENCH_SERVICE=sns BENCH_BODY='Action=ListTopics&Version=2010-03-31').
With BENCH_DISK=1 in the environment the servers use a fresh data directory each
(SQLite in WAL mode, synchronous=FULL) instead of `--in-memory`. Needs wrk."""

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
sys.path.insert(0, str(ROOT / "scripts"))
from bench_server import signed_lua, wrk  # noqa: E402
from conftest import free_port  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def call_lua(url):
    """The wrk script of the call measured: BENCH_SERVICE/BENCH_BODY, or GetCallerIdentity."""
    body = os.environ.get("BENCH_BODY")
    if not body:
        return signed_lua(url)
    return signed_lua(url, body=body.encode(), service=os.environ.get("BENCH_SERVICE", "sts"))


def wait_ready(url, proc):
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/_mamori/health", timeout=1):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("mamori exited")
            time.sleep(0.05)
    raise RuntimeError("mamori did not become healthy")


def spawn(binary, *extra):
    port = free_port()
    store = (["--data-dir", tempfile.mkdtemp(prefix="ct-bench-")] if os.environ.get("BENCH_DISK")
             else ["--in-memory"])
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", *store,
                             "--log", "warn", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    return proc, url


def cpu(pid, thread_name=None):
    """CPU seconds of the process, or of its threads named `thread_name`."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except FileNotFoundError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if thread_name and not name.startswith(thread_name):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def main():
    base, new = sys.argv[1], sys.argv[2]
    secs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    servers = {}
    try:
        for label, binary in [("base", base), ("new", new)]:
            servers[(label, "off")] = spawn(binary, "--cloudtrail-recording", "false")
            servers[(label, "on")] = spawn(binary)
        results = {k: [] for k in servers}
        for r in range(rounds):
            for key in [("base", "off"), ("base", "on"), ("new", "off"), ("new", "on")]:
                proc, url = servers[key]
                c0, w0 = cpu(proc.pid), cpu(proc.pid, "cloudtrail-writ")
                rps, lat, non2xx = wrk(url, 32, 2, call_lua(url), secs)
                n = rps * secs
                us = (cpu(proc.pid) - c0) * 1e6 / n
                wus = (cpu(proc.pid, "cloudtrail-writ") - w0) * 1e6 / n
                results[key].append(us)
                print(f"round {r + 1} {key[0]:4} recording {key[1]:3}: {rps:7.0f} req/s, "
                      f"{us:5.1f} us CPU/request (writer thread {wus:4.1f}), non-2xx {non2xx}",
                      flush=True)
        for label in ("base", "new"):
            off = statistics.median(results[(label, "off")])
            on = statistics.median(results[(label, "on")])
            print(f"{label}: median off {off:.1f} us, on {on:.1f} us: recording costs "
                  f"{on - off:.1f} us a call, {100 * (on - off) / off:+.0f} %")
    finally:
        for proc, _ in servers.values():
            proc.kill()


if __name__ == "__main__":
    main()
