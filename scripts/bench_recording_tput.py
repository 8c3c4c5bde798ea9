#!/usr/bin/env python3
"""Throughput lost to CloudTrail recording, the issue's measure, in paired rounds: in each
round and for each binary, a fresh server with recording off and one with it on
(GetCallerIdentity by default, wrk, 32 connections, `--in-memory`; the order of the pair
alternates between rounds), reporting each pair's loss and the median over the rounds.
Fresh servers keep the recording-on server from growing over the run; pairing and the
median are what make a figure of a machine whose throughput swings by a quarter between
runs.

Usage: .venv/bin/python scripts/bench_recording_tput.py BINARY [BINARY ...] [--rounds R] [--seconds S]
BENCH_SERVICE, BENCH_BODY and BENCH_DISK mean what they mean in bench_recording_ab.py.
Needs wrk."""

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_recording_ab import call_lua, spawn  # noqa: E402
from bench_server import wrk  # noqa: E402

OFF = ("off", ["--cloudtrail-recording", "false"])
ON = ("on", [])


def pair(binary, first_off, seconds):
    rates, latency = {}, {}
    for mode, extra in (OFF, ON) if first_off else (ON, OFF):
        proc, url = spawn(binary, *extra)
        try:
            wrk(url, 32, 2, call_lua(url), 1)  # warm up: models parsed, connections open
            rates[mode], lat, _ = wrk(url, 32, 2, call_lua(url), seconds)
            latency[mode] = f"p50 {lat.get('50%')}, p99 {lat.get('99%')}"
        finally:
            proc.kill()
            proc.wait()
    return rates, latency


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    lost = {b: [] for b in args.binaries}
    for r in range(args.rounds):
        for b in args.binaries:
            rates, latency = pair(b, r % 2 == 0, args.seconds)
            lost[b].append(1 - rates["on"] / rates["off"])
            print(f"round {r + 1} {b}: off {rates['off']:,.0f} req/s ({latency['off']}), "
                  f"on {rates['on']:,.0f} req/s ({latency['on']}): {100 * lost[b][-1]:.1f} % lost",
                  flush=True)
    for b, values in lost.items():
        print(f"{b}: median {100 * statistics.median(values):.1f} % lost (min {100 * min(values):.1f}, "
              f"max {100 * max(values):.1f}, {len(values)} pairs)")


if __name__ == "__main__":
    main()
