#!/usr/bin/env python3
"""Measures CloudFormation: time from CreateStack over HTTP to CREATE_COMPLETE for the
seed's CIS stack (35 resources, every one created through its own service), seen by the
client (polling DescribeStacks) and by the server (its first and last stack events), with
a one-resource stack and a bare DescribeStacks round trip as baselines from the same run.

Usage: cargo build --release --bin mamori && .venv/bin/python scripts/bench_cloudformation.py [RUNS] [--in-memory]
(`--in-memory` runs the server on the in-memory store, which shows what the synchronous
SQLite commits cost; `MAMORI_STORE_MAX_BATCH=1` in the environment turns the store's group
commit off, for the comparison.)"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
os.environ.setdefault("MAMORI_BIN", str(ROOT / "target" / "release" / "mamori"))
import conftest  # noqa: E402
from conftest import Server  # noqa: E402

CIS = (ROOT / "crates" / "mamori-template" / "tests" / "fixtures" / "cis.yaml").read_text()
ONE = "Resources:\n  T: {Type: AWS::SNS::Topic}\n"
ACCOUNT = "000000000000"


class QuietServer(Server):
    """The e2e server with request logging off, as a benchmark wants it."""

    def start(self):
        real_popen = conftest.subprocess.Popen

        def popen(args, **kw):
            args = [a if a != "info,mamori=debug" else "warn" for a in args]
            return real_popen(args, **kw)

        conftest.subprocess.Popen = popen
        try:
            super().start()
        finally:
            conftest.subprocess.Popen = real_popen


def deploy(cfn, name, body, params):
    """Returns (client seconds, server seconds) from CreateStack to CREATE_COMPLETE."""
    t0 = time.perf_counter()
    cfn.create_stack(StackName=name, TemplateBody=body, Parameters=params, Capabilities=["CAPABILITY_NAMED_IAM"])
    while True:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
        if status != "CREATE_IN_PROGRESS":
            break
    client = time.perf_counter() - t0
    assert status == "CREATE_COMPLETE", status
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    server = (events[0]["Timestamp"] - events[-1]["Timestamp"]).total_seconds()
    return client, server


def undeploy(cfn, s3, name, bucket):
    stack_id = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName=name)
    while cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_IN_PROGRESS":
        time.sleep(0.01)
    if bucket:
        s3.delete_bucket(Bucket=bucket)  # the Retain bucket stays after the stack


def summary(label, xs):
    xs = sorted(xs)
    print(f"{label:58} median {statistics.median(xs) * 1000:7.1f} ms  min {xs[0] * 1000:7.1f}  max {xs[-1] * 1000:7.1f}  (n={len(xs)})")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    runs = int(args[0]) if args else 10
    server = QuietServer(*[a for a in sys.argv[1:] if a == "--in-memory"], name="bench-cfn")
    try:
        cfn, s3 = server.client("cloudformation"), server.client("s3")
        s3.create_bucket(Bucket="bench-access-logs")
        rtt = []
        for _ in range(200):
            t0 = time.perf_counter()
            cfn.list_stacks()
            rtt.append(time.perf_counter() - t0)
        one_c, one_s, cis_c, cis_s = [], [], [], []
        for i in range(runs):
            c, s = deploy(cfn, f"one{i}", ONE, [])
            one_c.append(c)
            one_s.append(s)
            name = f"cis{i}"
            topic = f"{name}-system-notifications"
            params = [{"ParameterKey": "SnsTopicARN", "ParameterValue": f"arn:aws:sns:us-east-1:{ACCOUNT}:{topic}"},
                      {"ParameterKey": "SnsTopicName", "ParameterValue": topic},
                      {"ParameterKey": "LogBacketName", "ParameterValue": "bench-access-logs"}]
            c, s = deploy(cfn, name, CIS, params)
            cis_c.append(c)
            cis_s.append(s)
            undeploy(cfn, s3, name, f"defaultsecuritysettings-cloudtrail-us-east-1-{ACCOUNT}")
        summary("baseline: ListStacks round trip (boto3)", rtt)
        summary("baseline: 1-resource stack, CreateStack -> CREATE_COMPLETE", one_c)
        summary("baseline: 1-resource stack, server events first -> last", one_s)
        summary("CIS stack (35 resources), CreateStack -> CREATE_COMPLETE", cis_c)
        summary("CIS stack, server events first -> last", cis_s)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
