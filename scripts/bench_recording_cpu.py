#!/usr/bin/env python3
"""Measures what CloudTrail recording costs a call: GetCallerIdentity with wrk (32
connections, 2 threads) against a server with recording off and one with it on,
alternating off, on, off, on, reporting requests/s and the server's CPU time per request
(utime + stime from /proc/<pid>/stat), which stays meaningful on a machine shared with
other work where throughput does not.

Usage: cargo build --release --bin mamori && .venv/bin/python scripts/bench_recording_cpu.py [BINARY] [SECONDS] [perf]
With `perf`, the first recording-on run is sampled into /tmp/ct.perf.data. Needs wrk."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))
import conftest  # noqa: E402

conftest.BINARY = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "mamori")


class QuietPopen(subprocess.Popen):
    """Starts the server with `--log warn`: the harness's debug log line per call would
    be measured otherwise."""

    def __init__(self, args, *a, **k):
        if isinstance(args, list) and "--log" in args:
            i = args.index("--log")
            args = args[:i + 1] + ["warn"] + args[i + 2:]
        super().__init__(args, *a, **k)


conftest.subprocess.Popen = QuietPopen
from conftest import Server  # noqa: E402
from bench_server import signed_lua, wrk  # noqa: E402


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    perf = len(sys.argv) > 3
    on = Server("--in-memory", name="ct-on")
    off = Server("--in-memory", "--cloudtrail-recording", "false", name="ct-off")
    try:
        for name, s in [("off", off), ("on", on), ("off", off), ("on", on)]:
            sampler = None
            if perf and name == "on":
                sampler = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-p", str(s.proc.pid),
                                            "-o", "/tmp/ct.perf.data"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
                perf = False
            c0 = cpu_seconds(s.proc.pid)
            rps, lat, non2xx = wrk(s.url, 32, 2, signed_lua(s.url), secs)
            cpu_us = (cpu_seconds(s.proc.pid) - c0) * 1e6 / (rps * secs)
            if sampler:
                sampler.send_signal(2)
                sampler.wait()
            print(f"recording {name}: {rps:.0f} req/s, p50 {lat.get('50%')}, p99 {lat.get('99%')}, "
                  f"{cpu_us:.1f} us CPU/request, non-2xx {non2xx}", flush=True)
    finally:
        on.stop()
        off.stop()


if __name__ == "__main__":
    main()
