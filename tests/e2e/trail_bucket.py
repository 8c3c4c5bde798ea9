"""A bucket a trail may deliver to: created with the seed's CloudTrail bucket policy
(crates/mamori-template/tests/fixtures/cis.yaml), for the tests that make trails."""

import json
import uuid

ACCOUNT = "000000000000"


def seed_policy(bucket, account=ACCOUNT):
    return json.dumps({
        "Version": "2012-10-17", "Id": bucket,
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:GetBucketAcl"], "Resource": [f"arn:aws:s3:::{bucket}"]},
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
             "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{bucket}/AWSLogs/{account}/*"],
             "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}},
        ]})


def trail_bucket(server, prefix="ct"):
    """A new bucket whose policy lets CloudTrail write; its name."""
    s3 = server.client("s3")
    bucket = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=seed_policy(bucket))
    return bucket


def seed_logs_policy(group_arn):
    """The seed's AWSCloudTrailCloudWatchLogsPolicy for `group_arn` (`...:log-group:NAME:*`)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
         "Resource": [group_arn]}]})


def logs_role(server, group_arn, trusted="cloudtrail.amazonaws.com", policy=True):
    """A role CloudTrail may assume to write to `group_arn`, as the seed's IAMRoleForCloudTrail;
    its ARN."""
    iam = server.client("iam")
    name = f"ct-logs-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="AWSCloudTrailCloudWatchLogsPolicy",
                            PolicyDocument=seed_logs_policy(group_arn))
    return arn
