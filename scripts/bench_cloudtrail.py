#!/usr/bin/env python3
"""Measures CloudTrail: the cost of recording on API throughput (recording on vs off in
the same run), the latency from a call to its event in LookupEvents and in a trail's
log group, and import throughput of gzip trail files into a group carrying the 14 CIS
metric filters.

The cost of recording is the median of PAIRS pairs of fresh servers (default 7), one with
recording off and one with it on, the order alternating (scripts/bench_recording_tput.py
has more rounds and several binaries): on this 2-core machine a single pair can lose
anywhere from -15 to +25 %.

Usage: cargo build --release --bin mamori && [PAIRS=N] .venv/bin/python scripts/bench_cloudtrail.py [N_RECORDS]
Needs wrk."""

import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("MAMORI_BIN", str(ROOT / "target" / "release" / "mamori"))
from conftest import Server  # noqa: E402
from cis import CIS_FILTERS  # noqa: E402
from trail_bucket import logs_role, trail_bucket  # noqa: E402
from bench_recording_tput import pair  # noqa: E402
from bench_server import signed_lua, wrk  # noqa: E402

def record(i, base):
    names = [("ec2.amazonaws.com", "DescribeInstances", True), ("s3.amazonaws.com", "PutBucketPolicy", False),
             ("iam.amazonaws.com", "CreatePolicy", False), ("kms.amazonaws.com", "Decrypt", True),
             ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", False), ("sts.amazonaws.com", "AssumeRole", True)]
    source, name, ro = names[i % len(names)]
    rec = {"eventVersion": "1.08", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i // 50)),
           "eventSource": source, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.%d" % (i % 250),
           "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023",
           "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:session-%d" % (i % 7),
                            "arn": "arn:aws:sts::000000000000:assumed-role/Admin/session-%d" % (i % 7),
                            "accountId": "000000000000", "accessKeyId": "ASIAEXAMPLE%05d" % (i % 100),
                            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                                                                 "arn": "arn:aws:iam::000000000000:role/Admin",
                                                                 "accountId": "000000000000", "userName": "Admin"},
                                               "attributes": {"creationDate": "2023-05-01T00:00:00Z",
                                                              "mfaAuthenticated": "false"}}},
           "requestParameters": {"filterSet": {"items": [{"name": "tag:env", "valueSet": {"items": [{"value": "prod"}]}}]},
                                 "maxResults": random.randint(5, 1000)},
           "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": str(uuid.uuid4()),
           "readOnly": ro, "eventType": "AwsApiCall", "managementEvent": True,
           "recipientAccountId": "000000000000", "eventCategory": "Management"}
    if i % 25 == 0:
        rec["errorCode"] = "Client.UnauthorizedOperation"
        rec["errorMessage"] = "You are not authorized to perform this operation."
    return rec


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    lost, off_rates, on_rates = [], [], []
    for i in range(int(os.environ.get("PAIRS", "7"))):
        rates, _ = pair(os.environ["MAMORI_BIN"], i % 2 == 0, 4)
        off_rates.append(rates["off"])
        on_rates.append(rates["on"])
        lost.append(1 - rates["on"] / rates["off"])
    print(f"GetCallerIdentity, 32 connections, {len(lost)} pairs of fresh servers: recording off "
          f"{min(off_rates):,.0f} to {max(off_rates):,.0f} req/s, on {min(on_rates):,.0f} to {max(on_rates):,.0f}; "
          f"overhead median {100 * statistics.median(lost):.1f} % (pairs {', '.join(f'{100 * x:.1f}' for x in lost)})")

    # Event history is looked up in a server that holds a load's events (about 300,000).
    on = Server("--in-memory", name="ct-on")
    _, _, non2xx = wrk(on.url, 32, 2, signed_lua(on.url), 8)
    assert non2xx == "0", f"{non2xx} calls failed"
    sts, ct = on.client("sts"), on.client("cloudtrail")
    lat = []
    for _ in range(30):
        t0 = time.perf_counter()
        rid = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
        while True:
            ev = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
                                  MaxResults=5)["Events"]
            if any(json.loads(e["CloudTrailEvent"])["requestID"] == rid for e in ev):
                break
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"call -> LookupEvents: median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms over {len(lat)} calls "
          f"(includes the call and LookupEvents round trips)")
    on.stop()

    s = Server("--in-memory", name="ct-logs")
    try:
        logs, ct, sts = s.client("logs"), s.client("cloudtrail"), s.client("sts")
        logs.create_log_group(logGroupName="CloudTrail/bench")
        for name, pattern in CIS_FILTERS:
            logs.put_metric_filter(logGroupName="CloudTrail/bench", filterName=name, filterPattern=pattern,
                                   metricTransformations=[{"metricName": name, "metricNamespace": "LogMetrics", "metricValue": "1"}])
        arn = logs.describe_log_groups(logGroupNamePrefix="CloudTrail/bench")["logGroups"][0]["arn"]
        ct.create_trail(Name="bench", S3BucketName=trail_bucket(s), CloudWatchLogsLogGroupArn=arn,
                        CloudWatchLogsRoleArn=logs_role(s, arn))
        ct.start_logging(Name="bench")
        lat = []
        for _ in range(20):
            t0 = time.perf_counter()
            rid = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
            while not logs.filter_log_events(logGroupName="CloudTrail/bench",
                                             filterPattern='{ $.requestID = "%s" }' % rid)["events"]:
                time.sleep(0.01)
            lat.append((time.perf_counter() - t0) * 1000)
        print(f"call -> trail's log group (delivery every 0.5 s): median {statistics.median(lat):.0f} ms, "
              f"max {max(lat):.0f} ms over {len(lat)} calls")

        tmp = Path(tempfile.mkdtemp())
        base = int(time.time()) - 3600
        per_file = 1000
        t0 = time.perf_counter()
        for f in range(n // per_file):
            with gzip.open(tmp / f"000000000000_CloudTrail_us-east-1_{f:05d}.json.gz", "wt") as out:
                json.dump({"Records": [record(f * per_file + i, base) for i in range(per_file)]}, out)
        size = sum(p.stat().st_size for p in tmp.iterdir())
        print(f"generated {n:,} records in {n // per_file} gzip files ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        last = record(n - 1, base)  # same eventID generation is random: find the last one instead
        t0 = time.perf_counter()
        proc = subprocess.run([os.environ["MAMORI_BIN"], "cloudtrail", "import", "--endpoint", s.url, str(tmp)],
                              capture_output=True, text=True)
        t_import = time.perf_counter() - t0
        assert proc.returncode == 0, proc.stderr
        # Delivered once the log group holds every imported record (plus the calls above).
        # Polled often, with one client: at 100,000 events/s, 50 ms is a tenth of the run.
        cw = s.client("cloudwatch")
        while True:
            pts = cw.get_metric_statistics(Namespace="LogMetrics", MetricName="UnauthorizedAPICalls",
                                           StartTime=base - 60, EndTime=base + n, Period=3600 * 24, Statistics=["Sum"])["Datapoints"]
            if pts and sum(p["Sum"] for p in pts) >= n // 25:
                break
            time.sleep(0.01)
        t_all = time.perf_counter() - t0
        print(f"import of {n:,} records: stored in {t_import:.2f} s ({n / t_import:,.0f} events/s); "
              f"through the trail and the 14 CIS filters into CloudWatch in {t_all:.2f} s ({n / t_all:,.0f} events/s)")
        del last
    finally:
        s.stop()


if __name__ == "__main__":
    main()
