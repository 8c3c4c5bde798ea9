#!/usr/bin/env python3
"""Where recording's cost goes: a differential profile of one binary's server under wrk
(GetCallerIdentity, or BENCH_SERVICE/BENCH_BODY as in bench_recording_ab.py; 32
connections, `--in-memory`), once with CloudTrail recording off and once on, sampled by
`perf record` at 997 Hz. Prints the CPU per request of each mode and the functions whose
share per request grew or shrank most with recording on, in nanoseconds per request.

Usage: .venv/bin/python scripts/profile_recording.py BINARY [SECONDS]
Needs wrk and perf."""

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_recording_ab import call_lua, spawn  # noqa: E402
from bench_server import wrk  # noqa: E402

HZ = 997
ROW = re.compile(r"\s+[\d.]+%\s+(\d+)\s+\[.\]\s+(.*?)\s*$")


def profile(binary, mode, extra, seconds, out):
    """Samples per function and requests served, for one server."""
    proc, url = spawn(binary, *extra)
    try:
        wrk(url, 32, 2, call_lua(url), 3)  # warm up: models parsed, connections open
        perf = subprocess.Popen(["perf", "record", "-F", str(HZ), "-p", str(proc.pid), "-o", out],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        rate = wrk(url, 32, 2, call_lua(url), seconds)[0]
        perf.send_signal(2)
        perf.wait()
    finally:
        proc.kill()
    report = subprocess.run(["perf", "report", "-i", out, "--no-children", "--sort", "symbol",
                             "--stdio", "-n", "-g", "none"], capture_output=True, text=True).stdout
    counts = {}
    for line in report.splitlines():
        m = ROW.match(line)
        if m:
            name = m.group(2).strip()[:90]
            counts[name] = counts.get(name, 0) + int(m.group(1))
    print(f"recording {mode}: {rate:,.0f} req/s, {sum(counts.values())} samples", flush=True)
    return counts, rate * seconds


def main():
    binary = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    off, n_off = profile(binary, "off", ["--cloudtrail-recording", "false"], seconds, "/tmp/recording-off.perf")
    on, n_on = profile(binary, "on", [], seconds, "/tmp/recording-on.perf")
    ns = 1e9 / HZ  # one sample stands for this much CPU time

    def per_request(counts, n):
        return {k: v * ns / n for k, v in counts.items()}

    off, on = per_request(off, n_off), per_request(on, n_on)
    print(f"CPU per request: off {sum(off.values()) / 1e3:.1f} us, on {sum(on.values()) / 1e3:.1f} us")
    diff = sorted(((on.get(k, 0) - off.get(k, 0), k) for k in set(off) | set(on)), reverse=True)
    print("grew with recording on (ns per request):")
    for d, k in diff[:30]:
        print(f"{d:8.0f} {k}")
    print("shrank:")
    for d, k in diff[-8:]:
        print(f"{d:8.0f} {k}")


if __name__ == "__main__":
    main()
