"""Trails and regions under the manual clock: a multi-region trail delivers the events of
every region (each region's log files under its own key path, its own log stream in the
home region's group, and its own signed digest chain that `aws --region <r> cloudtrail
validate-logs` accepts), while a single-region trail delivers its home region only and,
as CloudTrail does since November 2021, global service events (IAM, STS: recorded in
us-east-1) only when its home region is us-east-1."""

import datetime
import gzip
import json
import re
import uuid

import pytest

from trail_bucket import logs_role, trail_bucket

ACCOUNT = "000000000000"


@pytest.fixture(autouse=True)
def drop_trails(manual_server):
    yield
    for region in ("us-east-1", "eu-west-1"):
        ct = manual_server.client("cloudtrail", region_name=region)
        for t in ct.list_trails()["Trails"]:
            if t["Name"].startswith("mr-") and t["HomeRegion"] == region:
                ct.delete_trail(Name=t["Name"])


def delivered(srv, bucket, region):
    """Every record of the log files under `region`'s key path."""
    s3 = srv.client("s3")
    prefix = f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/"
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            assert o["Key"].split("/")[-1].startswith(f"{ACCOUNT}_CloudTrail_{region}_"), o["Key"]
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            records += json.loads(gzip.decompress(body))["Records"]
    return records


def streamed(srv, group, region):
    """Messages of the trail's log stream for `region` in the home region's group."""
    logs = srv.client("logs")
    stream = f"{ACCOUNT}_CloudTrail_{region}"
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                     startFromHead=True)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(e["message"]) for e in events]


def make_trail(srv, region, multi, group=None, **extra):
    ct = srv.client("cloudtrail", region_name=region)
    bucket = trail_bucket(srv, prefix="mr")
    name = f"mr-{uuid.uuid4().hex[:8]}"
    kw = dict(extra)
    if group:
        logs = srv.client("logs", region_name=region)
        logs.create_log_group(logGroupName=group)
        arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
        kw.update(CloudWatchLogsLogGroupArn=arn,
                  CloudWatchLogsRoleArn=logs_role(srv, arn))
    trail_arn = ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi, **kw)["TrailARN"]
    ct.start_logging(Name=name)
    return bucket, name, trail_arn


def calls(srv, tag):
    """One call in us-east-1, one in eu-west-1 and one global (IAM); their request ids."""
    east = srv.client("sns").create_topic(Name=f"east-{tag}")["ResponseMetadata"]["RequestId"]
    west = srv.client("sns", region_name="eu-west-1").create_topic(
        Name=f"west-{tag}")["ResponseMetadata"]["RequestId"]
    iam = srv.client("iam").create_user(UserName=f"mr-{tag}")["ResponseMetadata"]["RequestId"]
    return east, west, iam


def ids(records):
    return {r.get("requestID") for r in records}


def test_a_multi_region_trail_delivers_every_region_and_validates_per_region(manual_server):
    srv = manual_server
    start = srv.now() - datetime.timedelta(minutes=1)
    tag = uuid.uuid4().hex[:8]
    group = f"mr-{tag}"
    bucket, name, arn = make_trail(srv, "us-east-1", True, group=group,
                                   EnableLogFileValidation=True)
    single_bucket, _, _ = make_trail(srv, "us-east-1", False)
    east, west, iam = calls(srv, tag)
    srv.advance(300)

    east_files, west_files = delivered(srv, bucket, "us-east-1"), delivered(srv, bucket, "eu-west-1")
    assert {east, iam} <= ids(east_files) and west not in ids(east_files)
    assert west in ids(west_files) and not ({east, iam} & ids(west_files))
    assert {r["awsRegion"] for r in west_files} == {"eu-west-1"}
    # Each region has its own stream in the home region's group.
    assert west in ids(streamed(srv, group, "eu-west-1"))
    assert east in ids(streamed(srv, group, "us-east-1"))
    assert west not in ids(streamed(srv, group, "us-east-1"))
    # The single-region trail sees its home region only.
    assert {east, iam} <= ids(delivered(srv, single_bucket, "us-east-1"))
    assert delivered(srv, single_bucket, "eu-west-1") == []

    # The trail is visible from the other region, as AWS shows a multi-region trail.
    west_ct = srv.client("cloudtrail", region_name="eu-west-1")
    assert arn in [t["TrailARN"] for t in west_ct.describe_trails()["trailList"]]

    # One digest chain per region, each signed with its region's key.
    srv.advance(3600)
    s3 = srv.client("s3")
    digests = [o["Key"] for o in s3.list_objects_v2(
        Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/eu-west-1/").get("Contents", [])]
    assert digests and all(f"_CloudTrail-Digest_eu-west-1_{name}_us-east-1_" in k for k in digests)
    digest = json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=digests[0])["Body"].read()))
    west_keys = {k["Fingerprint"] for k in west_ct.list_public_keys()["PublicKeyList"]}
    assert digest["digestPublicKeyFingerprint"] in west_keys
    assert all("/CloudTrail/eu-west-1/" in f["s3Object"] for f in digest["logFiles"])
    end = srv.now() + datetime.timedelta(minutes=1)
    for region in ("us-east-1", "eu-west-1"):
        proc = srv.aws("--region", region, "cloudtrail", "validate-logs", "--trail-arn", arn,
                       "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "--end-time", end.strftime("%Y-%m-%dT%H:%M:%SZ"), check=False)
        assert proc.returncode == 0, (region, proc.stdout, proc.stderr)
        digests = re.search(r"(\d+)/(\d+) digest files valid", proc.stdout)
        files = re.search(r"(\d+)/(\d+) log files valid", proc.stdout)
        assert digests and digests[1] == digests[2] != "0", proc.stdout
        assert files and files[1] == files[2] != "0", proc.stdout


def test_stop_logging_delivers_every_regions_backlog_then_nothing(manual_server):
    srv = manual_server
    tag = uuid.uuid4().hex[:8]
    bucket, name, _ = make_trail(srv, "us-east-1", True)
    _, west, _ = calls(srv, tag)
    srv.client("cloudtrail").stop_logging(Name=name)
    _, after, _ = calls(srv, tag + "b")
    srv.advance(300)
    got = ids(delivered(srv, bucket, "eu-west-1"))
    assert west in got and after not in got


def test_single_region_trails_outside_us_east_1_get_no_global_events(manual_server):
    srv = manual_server
    tag = uuid.uuid4().hex[:8]
    bucket, _, _ = make_trail(srv, "eu-west-1", False)
    multi_bucket, _, _ = make_trail(srv, "eu-west-1", True, IncludeGlobalServiceEvents=False)
    east, west, iam = calls(srv, tag)
    srv.advance(300)
    assert west in ids(delivered(srv, bucket, "eu-west-1"))
    assert delivered(srv, bucket, "us-east-1") == [], "a single-region trail got another region"
    # A multi-region trail without global service events gets us-east-1's regional events only.
    east_records = delivered(srv, multi_bucket, "us-east-1")
    assert east in ids(east_records) and iam not in ids(east_records)
    assert west in ids(delivered(srv, multi_bucket, "eu-west-1"))
