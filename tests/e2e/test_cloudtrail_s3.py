"""CloudTrail delivery to S3 under the manual clock: gzip log files with AWS's key
layout, hourly signed digests that the stock `aws cloudtrail validate-logs` accepts (and
that catch a tampered or deleted log file), CreateTrail's bucket and topic policy
checks, delivery errors in GetTrailStatus, and deliveries that survive kill -9."""

import datetime
import gzip
import json
import re
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import Server
from trail_bucket import seed_policy, trail_bucket

ACCOUNT = "000000000000"
LOG_KEY = re.compile(
    r"^AWSLogs/000000000000/CloudTrail/us-east-1/(\d{4})/(\d{2})/(\d{2})/"
    r"000000000000_CloudTrail_us-east-1_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$")
DIGEST_KEY = re.compile(
    r"^AWSLogs/000000000000/CloudTrail-Digest/us-east-1/\d{4}/\d{2}/\d{2}/"
    r"000000000000_CloudTrail-Digest_us-east-1_(.+)_us-east-1_\d{8}T\d{6}Z\.json\.gz$")


@pytest.fixture(autouse=True)
def drop_trails(manual_server):
    """The shared manual server allows 5 trails a region: remove this file's trails."""
    yield
    ct = manual_server.client("cloudtrail")
    for t in ct.list_trails()["Trails"]:
        if t["Name"].startswith("trail-"):
            ct.delete_trail(Name=t["Name"])


def make_trail(srv, validation=True, **extra):
    ct = srv.client("cloudtrail")
    bucket = trail_bucket(srv)
    name = f"trail-{uuid.uuid4().hex[:8]}"
    arn = ct.create_trail(Name=name, S3BucketName=bucket, EnableLogFileValidation=validation,
                          **extra)["TrailARN"]
    ct.start_logging(Name=name)
    return bucket, name, arn


def objects(srv, bucket, prefix):
    s3 = srv.client("s3")
    keys = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


def read_gz(srv, bucket, key):
    body = srv.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return json.loads(gzip.decompress(body))


def log_keys(srv, bucket):
    return objects(srv, bucket, f"AWSLogs/{ACCOUNT}/CloudTrail/")


def test_a_trail_delivers_gzip_log_files_with_the_calls_made(manual_server):
    srv = manual_server
    bucket, name, arn = make_trail(srv, validation=False)
    iam = srv.client("iam")
    user = f"u-{uuid.uuid4().hex[:8]}"
    rid = iam.create_user(UserName=user)["ResponseMetadata"]["RequestId"]
    assert log_keys(srv, bucket) == []
    srv.advance(300)
    keys = log_keys(srv, bucket)
    assert keys, "no log file after 5 minutes"
    records = []
    for key in keys:
        m = LOG_KEY.match(key)
        assert m, key
        assert m.group(4)[:8] == "".join(m.group(1, 2, 3)), key
        head = srv.client("s3").head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == "application/json"
        doc = read_gz(srv, bucket, key)
        assert set(doc) == {"Records"}
        records += doc["Records"]
    rec = next(r for r in records if r.get("requestID") == rid)
    assert rec["eventName"] == "CreateUser" and rec["eventSource"] == "iam.amazonaws.com"
    assert rec["requestParameters"]["userName"] == user
    assert rec["recipientAccountId"] == ACCOUNT
    # The trail's own delivery calls (PutObject as cloudtrail.amazonaws.com) are not recorded.
    assert not any(r.get("userIdentity", {}).get("invokedBy") == "cloudtrail.amazonaws.com"
                   and r["eventName"] == "PutObject" for r in records)
    status = srv.client("cloudtrail").get_trail_status(Name=name)
    assert status["IsLogging"] is True
    assert "LatestDeliveryTime" in status and "LatestDeliveryError" not in status
    assert status["LatestDeliveryAttemptSucceeded"] == status["LatestDeliveryAttemptTime"]


def validate(srv, arn, start, end):
    return srv.aws("cloudtrail", "validate-logs", "--trail-arn", arn, "--verbose",
                   "--start-time", start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   "--end-time", end.strftime("%Y-%m-%dT%H:%M:%SZ"), check=False)


def test_validate_logs_accepts_a_two_hour_digest_chain_and_reports_tampering(manual_server):
    srv = manual_server
    start = srv.now() - datetime.timedelta(minutes=1)
    bucket, name, arn = make_trail(srv)
    iam = srv.client("iam")
    for hour in range(2):
        iam.create_user(UserName=f"v-{uuid.uuid4().hex[:8]}")
        srv.advance(300)
        srv.client("sts").get_caller_identity()
        srv.advance(3300)
    srv.advance(3600)
    end = srv.now() + datetime.timedelta(minutes=1)
    digests = objects(srv, bucket, f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/")
    assert len(digests) >= 2, digests
    for key in digests:
        assert DIGEST_KEY.match(key).group(1) == name, key
    doc = read_gz(srv, bucket, digests[-1])
    assert doc["digestSignatureAlgorithm"] == "SHA256withRSA"
    assert doc["previousDigestS3Object"] == digests[-2]
    head = srv.client("s3").head_object(Bucket=bucket, Key=digests[-1])
    assert head["Metadata"]["signature-algorithm"] == "SHA256withRSA"
    assert re.fullmatch(r"[0-9a-f]+", head["Metadata"]["signature"])
    keys = srv.client("cloudtrail").list_public_keys()["PublicKeyList"]
    assert keys and keys[0]["Fingerprint"] == doc["digestPublicKeyFingerprint"]

    proc = validate(srv, arn, start, end)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    n_logs = len(log_keys(srv, bucket))
    assert f"{len(digests)}/{len(digests)} digest files valid" in out, out
    assert re.search(r"(\d+)/\1 log files valid", out), out
    assert "INVALID" not in out
    assert n_logs >= 2

    # Rewrite one log file: same key, other content.
    victim = log_keys(srv, bucket)[0]
    tampered = read_gz(srv, bucket, victim)
    tampered["Records"][0]["eventName"] = "Nothing"
    srv.client("s3").put_object(Bucket=bucket, Key=victim,
                                Body=gzip.compress(json.dumps(tampered).encode()))
    proc = validate(srv, arn, start, end)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert f"s3://{bucket}/{victim}\tINVALID: hash value doesn't match" in out, out

    # Delete another one.
    gone = log_keys(srv, bucket)[1]
    srv.client("s3").delete_object(Bucket=bucket, Key=gone)
    proc = validate(srv, arn, start, end)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert f"s3://{bucket}/{gone}\tINVALID: not found" in out, out


def test_create_trail_checks_the_bucket_policy(manual_server):
    s3, ct = manual_server.client("s3"), manual_server.client("cloudtrail")
    bucket = f"ct-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    name = f"trail-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name=name, S3BucketName=bucket)
    assert e.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    assert bucket in e.value.response["Error"]["Message"]
    # A policy for another service is not enough either.
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_policy(bucket).replace(
        "cloudtrail.amazonaws.com", "config.amazonaws.com"))
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name=name, S3BucketName=bucket)
    assert e.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name=name, S3BucketName=f"missing-{uuid.uuid4().hex[:8]}")
    assert e.value.response["Error"]["Code"] == "S3BucketDoesNotExistException"
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_policy(bucket))
    ct.create_trail(Name=name, S3BucketName=bucket)
    # The seed policy covers AWSLogs/<account>/ only: a key prefix is refused.
    with pytest.raises(ClientError) as e:
        ct.update_trail(Name=name, S3KeyPrefix="elsewhere")
    assert e.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    assert ct.get_trail(Name=name)["Trail"].get("S3KeyPrefix") is None


def test_topic_policy_is_checked_and_deliveries_notify(manual_server):
    srv = manual_server
    sns = srv.client("sns")
    topic = sns.create_topic(Name=f"ct-{uuid.uuid4().hex[:8]}")["TopicArn"]
    ct = srv.client("cloudtrail")
    bucket = trail_bucket(srv)
    name = f"trail-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as e:
        ct.create_trail(Name=name, S3BucketName=bucket, SnsTopicName=topic)
    assert e.value.response["Error"]["Code"] == "InsufficientSnsTopicPolicyException"
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "SNS:Publish", "Resource": topic}]}))
    ct.create_trail(Name=name, S3BucketName=bucket, SnsTopicName=topic)
    ct.start_logging(Name=name)
    srv.client("sts").get_caller_identity()
    srv.advance(300)
    status = ct.get_trail_status(Name=name)
    assert "LatestNotificationTime" in status, status
    assert "LatestNotificationError" not in status


def test_a_refused_delivery_is_reported_and_retried(manual_server):
    srv = manual_server
    bucket, name, _ = make_trail(srv, validation=False)
    s3, ct = srv.client("s3"), srv.client("cloudtrail")
    # The policy changes after the trail was created: S3 refuses CloudTrail.
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_policy(bucket).replace(
        "cloudtrail.amazonaws.com", "config.amazonaws.com"))
    srv.client("sts").get_caller_identity()
    srv.advance(300)
    status = ct.get_trail_status(Name=name)
    assert status["LatestDeliveryError"] == "AccessDenied"
    assert log_keys(srv, bucket) == []
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_policy(bucket))
    srv.advance(300)
    assert log_keys(srv, bucket)
    assert "LatestDeliveryError" not in ct.get_trail_status(Name=name)


@pytest.fixture
def durable_server():
    s = Server("--clock", "manual", "--clock-start", "2026-06-01T10:02:00Z", name="ct-durable")
    yield s
    s.stop()


def test_deliveries_survive_kill_9(durable_server):
    srv = durable_server
    bucket, name, arn = make_trail(srv)
    rid = srv.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
    srv.advance(300)
    first = log_keys(srv, bucket)
    assert len(first) == 1
    # Recorded but not delivered yet when the process dies.
    rid2 = srv.client("iam").create_user(UserName="durable")["ResponseMetadata"]["RequestId"]
    time.sleep(0.3)  # the recorder's writer thread stores it within milliseconds
    srv.restart()
    # The clock starts over at --clock-start: move past the previous deliveries.
    srv.advance(3 * 3600)
    keys = log_keys(srv, bucket)
    assert first[0] in keys
    records = [r for k in keys for r in read_gz(srv, bucket, k)["Records"]]
    ids = [r.get("requestID") for r in records]
    assert ids.count(rid) == 1, "the first call was delivered again"
    assert ids.count(rid2) == 1, "the call recorded before kill -9 was not delivered"
    digests = objects(srv, bucket, f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/")
    assert digests
    status = srv.client("cloudtrail").get_trail_status(Name=name)
    assert "LatestDigestDeliveryTime" in status
