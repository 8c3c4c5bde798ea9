#!/usr/bin/env python3
"""Measures the cost of enforcement: IAM GetUser throughput over HTTP with SigV4 (wrk,
1 and 32 connections) signed by the root user (no policy evaluation) and by an IAM user
with 10 attached customer managed policies of 10 statements each (cached compiled policy
set, one evaluation per request), in the same run.

Usage: cargo build --release --bin mamori && python3 scripts/bench_iam.py
Needs wrk and boto3 (the e2e venv)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from conftest import free_port  # noqa: E402
sys.path.insert(0, str(ROOT / "scripts"))
from bench_server import signed_lua, wrk  # noqa: E402

BINARY = os.environ.get("MAMORI_BIN", str(ROOT / "target" / "release" / "mamori"))
BODY = b"Action=GetUser&UserName=bench&Version=2010-05-08"


def statements(n):
    out = []
    for s in range(10):
        out.append({"Sid": f"P{n}S{s}", "Effect": "Allow",
                    "Action": [f"s3:Get{s}*", f"sns:Publish{s}", f"logs:Put{s}*"],
                    "Resource": f"arn:aws:s3:::bucket-{n}-{s}/*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}})
    if n == 9:
        out[9] = {"Sid": "GetUsers", "Effect": "Allow", "Action": "iam:GetUser",
                  "Resource": "arn:aws:iam::000000000000:user/*"}
    return out


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--log", "warn", "--in-memory"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                           aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
        iam.create_user(UserName="bench")
        for n in range(10):
            arn = iam.create_policy(PolicyName=f"bench-{n}", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": statements(n)}))["Policy"]["Arn"]
            iam.attach_user_policy(UserName="bench", PolicyArn=arn)
        key = iam.create_access_key(UserName="bench")["AccessKey"]
        user = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                            aws_secret_access_key=key["SecretAccessKey"])
        user.get_user(UserName="bench")
        root_lua = signed_lua(url, BODY, "iam", "test", "test")
        user_lua = signed_lua(url, BODY, "iam", key["AccessKeyId"], key["SecretAccessKey"])
        for connections, threads in [(1, 1), (32, 2)]:
            for label, lua in [("root (no evaluation)", root_lua), ("IAM user, 10x10 policies", user_lua)]:
                rps, lat, non2xx = wrk(url, connections, threads, lua)
                print(f"GetUser as {label}, {connections} connection(s): {rps:,.0f} req/s, "
                      f"p50 {lat.get('50%')}, p99 {lat.get('99%')}, non-2xx {non2xx}")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
