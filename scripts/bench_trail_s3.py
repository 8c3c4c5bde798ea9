#!/usr/bin/env python3
"""Measures CloudTrail's S3 delivery: a trail with log file validation on a manual
clock; a 3-second wrk burst of GetCallerIdentity records events; then one delivery run
(advance 300 s) and one digest run (advance 3600 s, including the first RSA key
generation) are timed.

Usage: cargo build --release --bin mamori && .venv/bin/python scripts/bench_trail_s3.py [BINARY]
Needs wrk."""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))
import bench_recording_cpu  # noqa: E402,F401  (quiet server logs)
import conftest  # noqa: E402

conftest.BINARY = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "target" / "release" / "mamori")
from conftest import Server  # noqa: E402
from bench_server import signed_lua, wrk  # noqa: E402
from trail_bucket import trail_bucket  # noqa: E402


def main():
    s = Server("--clock", "manual", name="trail-s3")
    try:
        ct = s.client("cloudtrail")
        bucket = trail_bucket(s)
        ct.create_trail(Name="bench", S3BucketName=bucket, EnableLogFileValidation=True)
        ct.start_logging(Name="bench")
        rps, _, _ = wrk(s.url, 8, 1, signed_lua(s.url), 3)
        n = int(rps * 3)
        time.sleep(0.5)
        t0 = time.time()
        s.advance(300)
        t1 = time.time()
        keys = []
        for page in s.client("s3").get_paginator("list_objects").paginate(
                Bucket=bucket, Prefix="AWSLogs/000000000000/CloudTrail/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        t2 = time.time()
        s.advance(3600)
        t3 = time.time()
        print(f"about {n} events: delivery run {t1 - t0:.2f} s ({n / (t1 - t0):.0f} events/s) "
              f"in {len(keys)} log files; digest run {t3 - t2:.2f} s")
    finally:
        s.stop()


if __name__ == "__main__":
    main()
