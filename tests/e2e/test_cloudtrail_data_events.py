"""CloudTrail data events under the manual clock: a trail whose event selectors ask for
S3 object events of one bucket (basic DataResources, or an advanced selector on
resources.ARN) receives that bucket's PutObject and GetObject, in its log group and in
its S3 log files, with resources, eventCategory Data and no object body; other buckets'
object calls and trails with the default selectors get none; event history never shows
data events. Data calls are not recorded at all while no trail asks."""

import gzip
import json
import uuid

import pytest

from trail_bucket import logs_role, trail_bucket

ACCOUNT = "000000000000"


@pytest.fixture(autouse=True)
def drop_trails(manual_server):
    """The shared manual server allows 5 trails a region: remove this file's trails."""
    yield
    ct = manual_server.client("cloudtrail")
    for t in ct.list_trails()["Trails"]:
        if t["Name"].startswith("dt-"):
            ct.delete_trail(Name=t["Name"])


def make_trail(srv, **selectors):
    """A logging trail with a log group of its own; (name, its bucket, its log group)."""
    ct, logs = srv.client("cloudtrail"), srv.client("logs")
    uid = uuid.uuid4().hex[:8]
    name, group = f"dt-{uid}", f"CloudTrail/dt-{uid}"
    logs.create_log_group(logGroupName=group)
    group_arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    bucket = trail_bucket(srv, prefix="dtlogs")
    ct.create_trail(Name=name, S3BucketName=bucket, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=logs_role(srv, group_arn))
    if selectors:
        ct.put_event_selectors(TrailName=name, **selectors)
    ct.start_logging(Name=name)
    return name, bucket, group


def group_records(srv, group):
    logs = srv.client("logs")
    events = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group):
        events += page.get("events", [])
    return [json.loads(e["message"]) for e in events]


def file_records(srv, bucket):
    s3 = srv.client("s3")
    records = []
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail/")
    for obj in listed.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        records += json.loads(gzip.decompress(body))["Records"]
    return records


def data_calls(records, bucket):
    return sorted((r["eventName"], r["requestParameters"]["key"]) for r in records
                  if r.get("eventCategory") == "Data"
                  and r.get("requestParameters", {}).get("bucketName") == bucket)


def object_calls(srv, bucket, key, body=b"secret body text"):
    s3 = srv.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


@pytest.mark.parametrize("style", ["basic", "advanced"])
def test_a_bucket_selector_delivers_that_buckets_object_calls_only(manual_server, style):
    srv = manual_server
    s3 = srv.client("s3")
    uid = uuid.uuid4().hex[:8]
    bucket_a, bucket_b = f"dta-{uid}", f"dtb-{uid}"
    s3.create_bucket(Bucket=bucket_a)
    s3.create_bucket(Bucket=bucket_b)
    if style == "basic":
        selectors = {"EventSelectors": [{
            "ReadWriteType": "All", "IncludeManagementEvents": True,
            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{bucket_a}/"]}]}]}
    else:
        selectors = {"AdvancedEventSelectors": [{"Name": "objects of A", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Data"]},
            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
            {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{bucket_a}/"]}]}]}
    selecting, selecting_bucket, selecting_group = make_trail(srv, **selectors)
    default, default_bucket, default_group = make_trail(srv)

    object_calls(srv, bucket_a, "docs/a.txt")
    object_calls(srv, bucket_b, "docs/b.txt")
    srv.advance(300)

    want = [("GetObject", "docs/a.txt"), ("PutObject", "docs/a.txt")]
    in_group = group_records(srv, selecting_group)
    assert data_calls(in_group, bucket_a) == want
    assert data_calls(in_group, bucket_b) == []
    in_files = file_records(srv, selecting_bucket)
    assert data_calls(in_files, bucket_a) == want
    assert data_calls(in_files, bucket_b) == []

    put = next(r for r in in_files if r["eventName"] == "PutObject" and r["eventCategory"] == "Data")
    assert put["managementEvent"] is False and put["readOnly"] is False
    assert put["eventSource"] == "s3.amazonaws.com"
    assert put["requestParameters"] == {"bucketName": bucket_a, "Host": f"{bucket_a}.s3.us-east-1.amazonaws.com",
                                        "key": "docs/a.txt"}
    assert put["resources"] == [
        {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket_a}/docs/a.txt"},
        {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket_a}"}]
    assert put["additionalEventData"]["bytesTransferredIn"] == len(b"secret body text")
    get = next(r for r in in_files if r["eventName"] == "GetObject" and r["eventCategory"] == "Data")
    assert get["readOnly"] is True
    assert get["additionalEventData"]["bytesTransferredOut"] == len(b"secret body text")
    assert "secret body text" not in json.dumps(in_files)

    # The default selectors: management events only.
    assert data_calls(group_records(srv, default_group), bucket_a) == []
    default_files = file_records(srv, default_bucket)
    assert not [r for r in default_files if r.get("eventCategory") == "Data"]
    assert any(r["eventName"] == "StartLogging" for r in default_files), "management events are"

    # Event history holds management events only.
    ct = srv.client("cloudtrail")
    for name in ("PutObject", "GetObject"):
        found = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        assert found["Events"] == [], name


def test_no_data_events_are_recorded_while_no_trail_asks(manual_server):
    srv = manual_server
    s3 = srv.client("s3")
    uid = uuid.uuid4().hex[:8]
    bucket = f"dtc-{uid}"
    s3.create_bucket(Bucket=bucket)
    # Recorded before any trail asks: nothing, so a trail created later cannot show it.
    object_calls(srv, bucket, "before.txt")
    name, trail_logs, group = make_trail(srv, EventSelectors=[{
        "ReadWriteType": "WriteOnly",
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    object_calls(srv, bucket, "during.txt")
    srv.advance(5)
    # StopLogging turns it off again.
    ct = srv.client("cloudtrail")
    ct.stop_logging(Name=name)
    object_calls(srv, bucket, "after.txt")
    srv.advance(300)
    # WriteOnly: PutObject of the logging period only.
    assert data_calls(file_records(srv, trail_logs), bucket) == [("PutObject", "during.txt")]
    assert data_calls(group_records(srv, group), bucket) == [("PutObject", "during.txt")]
    selectors = ct.get_event_selectors(TrailName=name)["EventSelectors"]
    assert selectors[0]["DataResources"][0]["Values"] == ["arn:aws:s3"]


def test_an_sns_topic_selector_delivers_publish_without_the_message(manual_server):
    srv = manual_server
    sns = srv.client("sns")
    uid = uuid.uuid4().hex[:8]
    wanted = sns.create_topic(Name=f"dt-wanted-{uid}")["TopicArn"]
    other = sns.create_topic(Name=f"dt-other-{uid}")["TopicArn"]
    name, bucket, group = make_trail(srv, AdvancedEventSelectors=[{"FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::SNS::Topic"]},
        {"Field": "resources.ARN", "Equals": [wanted]}]}])
    sns.publish(TopicArn=wanted, Message="the secret alert text")
    sns.publish(TopicArn=other, Message="another secret")
    srv.advance(300)
    published = [r for r in group_records(srv, group) if r["eventName"] == "Publish"]
    assert [r["resources"][0]["ARN"] for r in published] == [wanted]
    rec = published[0]
    assert rec["eventCategory"] == "Data" and rec["managementEvent"] is False
    assert rec["eventSource"] == "sns.amazonaws.com"
    assert rec["resources"] == [{"accountId": ACCOUNT, "type": "AWS::SNS::Topic", "ARN": wanted}]
    assert rec["requestParameters"]["topicArn"] == wanted
    assert rec["requestParameters"]["message"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert "secret" not in json.dumps(group_records(srv, group))
    # Management events are not selected by a data-only advanced selector.
    assert not [r for r in file_records(srv, bucket) if r.get("eventCategory") == "Management"]
