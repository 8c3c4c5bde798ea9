#!/usr/bin/env python3
"""Measures `mamori cloudtrail import` end to end: gzip trail files (1,000 records each)
imported into a server whose trail delivers to a log group carrying the 14 CIS metric
filters, until CloudWatch's CIS 3.1 metric (UnauthorizedAPICalls, 1 record in 25) counts
every imported record. Reports wall time and the CPU seconds of the server and of the CLI.

Several binaries can be given (e.g. a base build and the new one); they are run
alternately, `--rounds` times each, on the same generated files.

Usage: .venv/bin/python scripts/bench_ct_import.py [--records N] [--rounds R] [--on-disk] BIN [BIN ...]
Each run also reports the server's resident memory and the size of its data directory
(database and WAL files; empty with --in-memory) once the import is counted.
(PERF_OUT=/tmp/x records perf profiles of the server and the CLI, at PERF_FREQ Hz for the server, default 499;
KEEP_LOG=/tmp/x.log keeps the server's log.)"""

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_cloudtrail import record  # noqa: E402  (the same realistic records)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def minor_faults(pid):
    """Pages the process touched for the first time (each costs a kernel entry)."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[7])


def run_one(binary, files, n, base, extra):
    os.environ["MAMORI_BIN"] = binary
    import conftest
    conftest.BINARY = Path(binary)
    from cis import CIS_FILTERS
    s = conftest.Server(*extra, name="ct-import")
    try:
        logs, ct, cw = s.client("logs"), s.client("cloudtrail"), s.client("cloudwatch")
        logs.create_log_group(logGroupName="CloudTrail/bench")
        for name, pattern in CIS_FILTERS:
            logs.put_metric_filter(logGroupName="CloudTrail/bench", filterName=name, filterPattern=pattern,
                                   metricTransformations=[{"metricName": name, "metricNamespace": "LogMetrics", "metricValue": "1"}])
        arn = logs.describe_log_groups(logGroupNamePrefix="CloudTrail/bench")["logGroups"][0]["arn"]
        from trail_bucket import logs_role, trail_bucket
        ct.create_trail(Name="bench", S3BucketName=trail_bucket(s), CloudWatchLogsLogGroupArn=arn,
                        CloudWatchLogsRoleArn=logs_role(s, arn))
        ct.start_logging(Name="bench")
        time.sleep(1)
        cpu0, faults0 = cpu_seconds(s.proc.pid), minor_faults(s.proc.pid)
        perf = None
        if os.environ.get("PERF_OUT"):
            perf = subprocess.Popen(["perf", "record", "-F", os.environ.get("PERF_FREQ", "499"), "--call-graph", "dwarf,32768", "-o", os.environ["PERF_OUT"] + ".server",
                                     "-p", str(s.proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        t0 = time.perf_counter()
        cli = [binary, "cloudtrail", "import", "--endpoint", s.url, str(files)]
        if os.environ.get("PERF_OUT"):
            cli = ["perf", "record", "-F", "999", "-g", "-o", os.environ["PERF_OUT"] + ".cli", "--"] + cli
        proc = subprocess.Popen(cli if perf else [binary, "cloudtrail", "import", "--endpoint", s.url, str(files)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        t_import = time.perf_counter() - t0
        err = proc.stderr.read()
        assert os.waitstatus_to_exitcode(status) == 0, err
        cli_cpu = usage.ru_utime + usage.ru_stime
        while True:
            pts = cw.get_metric_statistics(Namespace="LogMetrics", MetricName="UnauthorizedAPICalls",
                                           StartTime=base - 60, EndTime=base + n, Period=3600 * 24,
                                           Statistics=["Sum"])["Datapoints"]
            if pts and sum(p["Sum"] for p in pts) >= n // 25:
                break
            # Polled often: at 100,000 events/s, 50 ms is a tenth of a 50,000-record run.
            time.sleep(0.01)
        t_all = time.perf_counter() - t0
        server_cpu = cpu_seconds(s.proc.pid) - cpu0
        faults = minor_faults(s.proc.pid) - faults0
        if perf:
            perf.send_signal(2)
            perf.wait()
        with open(f"/proc/{s.proc.pid}/status") as f:
            rss = int(f.read().split("VmRSS:")[1].split()[0]) * 1024
        stored = sum(p.stat().st_size for p in Path(s.data_dir).rglob("*") if p.is_file())
        return t_import, t_all, server_cpu, cli_cpu, rss, stored, faults
    finally:
        s.stop()
        if os.environ.get("KEEP_LOG"):
            shutil.copy(s.log_path, os.environ["KEEP_LOG"])
        shutil.rmtree(s.data_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("--on-disk", action="store_true", help="the on-disk store (default: --in-memory)")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    n, per_file = args.records, 1000
    tmp = Path(tempfile.mkdtemp(prefix="ct-import-files-"))
    base = int(time.time()) - 3600
    for f in range(n // per_file):
        with gzip.open(tmp / f"000000000000_CloudTrail_us-east-1_{f:05d}.json.gz", "wt") as out:
            json.dump({"Records": [record(f * per_file + i, base) for i in range(per_file)]}, out)
    size = sum(p.stat().st_size for p in tmp.iterdir())
    print(f"{n:,} records in {n // per_file} gzip files ({size / 1e6:.1f} MB); load {os.getloadavg()[0]:.1f}")
    try:
        for r in range(args.rounds):
            for b in args.binaries:
                t_import, t_all, scpu, ccpu, rss, stored, faults = run_one(
                    b, tmp, n, base, args.server_arg + ([] if args.on_disk else ["--in-memory"]))
                print(f"round {r + 1} {b}: CLI done {t_import:.2f} s, CIS 3.1 counts all in {t_all:.2f} s "
                      f"(+{t_all - t_import:.2f} s) "
                      f"= {n / t_all:,.0f} events/s; server {scpu:.2f} CPU-s ({faults:,} page faults), CLI {ccpu:.2f} CPU-s, "
                      f"server RSS {rss / 1e6:.0f} MB, data dir {stored / 1e6:.1f} MB, "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
