"""CloudTrail: every call recorded in event history with AWS's fields, and trail
management with CloudTrail's own validation errors."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from trail_bucket import logs_role, seed_logs_policy, trail_bucket


def lookup(ct, key, value, attempts=50, **kw):
    """Event history is written asynchronously (within milliseconds): poll briefly."""
    for _ in range(attempts):
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kw)["Events"]
        if events:
            return events
        time.sleep(0.02)
    return []


def test_calls_are_recorded_with_aws_fields(server):
    sts = server.client("sts")
    rid = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
    ct = server.client("cloudtrail")
    events = lookup(ct, "EventName", "GetCallerIdentity")
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    rec = next(r for r in records if r["requestID"] == rid)
    assert rec["eventVersion"] == "1.11"
    assert rec["eventSource"] == "sts.amazonaws.com"
    assert rec["awsRegion"] == "us-east-1"
    assert rec["userIdentity"]["type"] == "Root"
    assert rec["userIdentity"]["arn"] == "arn:aws:iam::000000000000:root"
    assert rec["userIdentity"]["accessKeyId"] == "test"
    assert rec["sourceIPAddress"] == "127.0.0.1"
    assert rec["userAgent"].startswith("Boto3/") or "botocore" in rec["userAgent"]
    assert rec["readOnly"] is True
    assert rec["eventType"] == "AwsApiCall"
    assert rec["managementEvent"] is True and rec["eventCategory"] == "Management"
    assert rec["recipientAccountId"] == "000000000000"
    # Read-only calls keep no response, as AWS records them.
    assert rec["requestParameters"] is None and rec["responseElements"] is None
    event = next(e for e in events if json.loads(e["CloudTrailEvent"])["requestID"] == rid)
    assert event["EventSource"] == "sts.amazonaws.com" and event["Username"] == "root"
    assert event["ReadOnly"] == "true" and event["AccessKeyId"] == "test"


def test_history_shows_every_call_answered_before_the_lookup(server):
    # No polling: LookupEvents first has the recorder store what it holds.
    sts, ct = server.client("sts"), server.client("cloudtrail")
    for _ in range(5):
        rid = sts.get_caller_identity()["ResponseMetadata"]["RequestId"]
        events = ct.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
            MaxResults=5)["Events"]
        assert rid in [json.loads(e["CloudTrailEvent"])["requestID"] for e in events]


def test_calls_that_change_state_keep_their_response(server):
    sns, ct = server.client("sns"), server.client("cloudtrail")
    name = f"kept-{uuid.uuid4().hex[:8]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    sns.list_topics()
    for _ in range(50):
        recs = [json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "EventSource", "sns.amazonaws.com")]
        created = [r for r in recs if r["eventName"] == "CreateTopic" and r["requestParameters"] == {"name": name}]
        listed = [r for r in recs if r["eventName"] == "ListTopics"]
        if created and listed:
            break
        time.sleep(0.02)
    assert created[0]["responseElements"] == {"topicArn": arn}
    assert created[0]["readOnly"] is False
    assert listed[0]["responseElements"] is None and listed[0]["readOnly"] is True


def test_secret_keys_are_never_in_a_record(server):
    """CreateAccessKey and GetSessionToken events show the key's id; its secret is not in
    the record at all, as in AWS's, and neither is a login profile's password."""
    iam, ct = server.client("iam"), server.client("cloudtrail")
    user = f"keyed-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.create_login_profile(UserName=user, Password="Corr3ct-Horse-Battery!")
    token = server.client("sts").get_session_token()["Credentials"]
    events = {}
    for _ in range(50):
        recs = [json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "Username", "root")]
        events = {r["eventName"]: r for r in recs
                  if r["eventName"] in ("CreateAccessKey", "CreateLoginProfile", "GetSessionToken")
                  and (r["requestParameters"] or {}).get("userName", user) == user}
        if len(events) == 3:
            break
        time.sleep(0.02)
    assert events["CreateAccessKey"]["responseElements"]["accessKey"] == {
        "userName": user, "accessKeyId": key["AccessKeyId"], "status": "Active",
        "createDate": events["CreateAccessKey"]["responseElements"]["accessKey"]["createDate"]}
    assert events["CreateLoginProfile"]["requestParameters"]["password"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert events["GetSessionToken"]["responseElements"]["credentials"]["accessKeyId"] == token["AccessKeyId"]
    for rec in events.values():
        text = json.dumps(rec)
        assert "secretAccessKey" not in text and key["SecretAccessKey"] not in text
        assert token["SecretAccessKey"] not in text and "Corr3ct-Horse" not in text


def test_failed_calls_carry_error_code_and_message(server):
    ct = server.client("cloudtrail")
    name = f"missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name=name)
    assert exc.value.response["Error"]["Code"] == "TrailNotFoundException"
    for _ in range(50):
        events = lookup(ct, "EventName", "GetTrail")
        recs = [json.loads(e["CloudTrailEvent"]) for e in events]
        rec = next((r for r in recs if r["requestParameters"] == {"name": name}), None)
        if rec:
            break
        time.sleep(0.02)
    assert rec is not None
    assert rec["errorCode"] == "TrailNotFoundException"
    assert rec["errorMessage"] == f"Unknown trail: {name} for the user: 000000000000"
    assert rec["responseElements"] is None


def test_lookup_pagination_time_range_and_bad_input(server):
    sts = server.client("sts")
    for _ in range(3):
        sts.get_caller_identity()
    ct = server.client("cloudtrail")
    time.sleep(0.1)
    page = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
                            MaxResults=1)
    assert len(page["Events"]) == 1 and "NextToken" in page
    nxt = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
                           MaxResults=1, NextToken=page["NextToken"])
    assert nxt["Events"][0]["EventId"] != page["Events"][0]["EventId"]
    assert nxt["Events"][0]["EventTime"] <= page["Events"][0]["EventTime"], "newest first"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "a"},
                                           {"AttributeKey": "Username", "AttributeValue": "b"}])
    assert exc.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(NextToken="garbage!")
    assert exc.value.response["Error"]["Code"] == "InvalidNextTokenException"
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as exc:
        ct.lookup_events(StartTime=now, EndTime=now - datetime.timedelta(hours=1))
    assert exc.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_lookup_via_aws_cli(server):
    server.aws("sts", "get-caller-identity")
    time.sleep(0.1)
    out = server.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                     "AttributeKey=EventSource,AttributeValue=sts.amazonaws.com", "--max-results", "5")
    assert out["Events"]
    assert all(e["EventSource"] == "sts.amazonaws.com" for e in out["Events"])
    ua = json.loads(out["Events"][0]["CloudTrailEvent"])["userAgent"]
    assert ua.startswith("aws-cli/")


def test_trail_lifecycle_and_validation(server):
    ct = server.client("cloudtrail")
    name = f"trail-{uuid.uuid4().hex[:8]}"
    bucket = trail_bucket(server)
    created = ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=True,
                              EnableLogFileValidation=True, TagsList=[{"Key": "team", "Value": "sec"}])
    assert created["TrailARN"] == f"arn:aws:cloudtrail:us-east-1:000000000000:trail/{name}"
    assert created["LogFileValidationEnabled"] is True
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name=name, S3BucketName=bucket)
    assert exc.value.response["Error"]["Code"] == "TrailAlreadyExistsException"
    for bad in ["ab", "-bad", "bad..name", "10.0.0.1"]:
        with pytest.raises(ClientError) as exc:
            ct.create_trail(Name=bad, S3BucketName=bucket)
        assert exc.value.response["Error"]["Code"] == "InvalidTrailNameException", bad
    assert ct.get_trail_status(Name=name)["IsLogging"] is False
    ct.start_logging(Name=created["TrailARN"])
    status = ct.get_trail_status(Name=name)
    assert status["IsLogging"] is True and "StartLoggingTime" in status
    assert "LatestDeliveryError" not in status
    trails = ct.describe_trails(trailNameList=[name])["trailList"]
    assert len(trails) == 1 and trails[0]["HomeRegion"] == "us-east-1" and trails[0]["IsMultiRegionTrail"]
    assert any(t["Name"] == name for t in ct.list_trails()["Trails"])
    sel = ct.get_event_selectors(TrailName=name)
    assert sel["EventSelectors"][0]["ReadWriteType"] == "All"
    ct.put_event_selectors(TrailName=name, EventSelectors=[
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    assert ct.get_trail(Name=name)["Trail"]["HasCustomEventSelectors"] is True
    with pytest.raises(ClientError) as exc:
        ct.put_event_selectors(TrailName=name, EventSelectors=[
            {"DataResources": [{"Type": "AWS::EC2::Instance", "Values": ["x"]}]}])
    assert exc.value.response["Error"]["Code"] == "InvalidEventSelectorsException"
    ct.add_tags(ResourceId=created["TrailARN"], TagsList=[{"Key": "env", "Value": "test"}])
    tags = ct.list_tags(ResourceIdList=[created["TrailARN"]])["ResourceTagList"][0]["TagsList"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "sec", "env": "test"}
    ct.stop_logging(Name=name)
    assert ct.get_trail_status(Name=name)["IsLogging"] is False
    ct.delete_trail(Name=name)
    with pytest.raises(ClientError) as exc:
        ct.get_trail(Name=name)
    assert exc.value.response["Error"]["Code"] == "TrailNotFoundException"


def test_log_group_destination_must_exist(server):
    ct = server.client("cloudtrail")
    bucket = trail_bucket(server)
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name=f"t-{uuid.uuid4().hex[:8]}", S3BucketName=bucket,
                        CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:000000000000:log-group:nope:*",
                        CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/CloudTrailToLogs")
    assert exc.value.response["Error"]["Code"] == "InvalidCloudWatchLogsLogGroupArnException"
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name=f"t-{uuid.uuid4().hex[:8]}", S3BucketName=bucket,
                        CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:000000000000:log-group:g:*")
    assert exc.value.response["Error"]["Code"] == "InvalidCloudWatchLogsRoleArnException"


def log_group(srv, name):
    logs = srv.client("logs")
    logs.create_log_group(logGroupName=name)
    return logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["arn"]


def test_the_logs_role_must_trust_cloudtrail_and_allow_writing_to_the_group(server):
    ct = server.client("cloudtrail")
    bucket = trail_bucket(server)
    group = f"ct-role-{uuid.uuid4().hex[:8]}"
    group_arn = log_group(server, group)
    cases = [
        # (role, error code, message)
        (f"arn:aws:iam::000000000000:role/missing-{uuid.uuid4().hex[:6]}",
         "InvalidCloudWatchLogsRoleArnException", "Access denied. Check the trust relationships for your role."),
        (logs_role(server, group_arn, trusted="ec2.amazonaws.com"),
         "InvalidCloudWatchLogsRoleArnException", "Access denied. Check the trust relationships for your role."),
        (logs_role(server, group_arn, policy=False),
         "InvalidCloudWatchLogsLogGroupArnException", "Access denied. Check the permissions for your role."),
        # Allowed on another group only.
        (logs_role(server, group_arn.replace(group, group + "-other")),
         "InvalidCloudWatchLogsLogGroupArnException", "Access denied. Check the permissions for your role."),
    ]
    for role, code, message in cases:
        with pytest.raises(ClientError) as exc:
            ct.create_trail(Name=f"t-{uuid.uuid4().hex[:8]}", S3BucketName=bucket,
                            CloudWatchLogsLogGroupArn=group_arn, CloudWatchLogsRoleArn=role)
        assert exc.value.response["Error"]["Code"] == code, role
        assert exc.value.response["Error"]["Message"] == message, role
    name = f"t-{uuid.uuid4().hex[:8]}"
    ct.create_trail(Name=name, S3BucketName=bucket, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=logs_role(server, group_arn))
    ct.delete_trail(Name=name)


def test_logs_delivery_uses_the_role_and_resumes_when_its_permission_returns(manual_server):
    srv = manual_server
    ct, iam, logs = srv.client("cloudtrail"), srv.client("iam"), srv.client("logs")
    group = f"ct-perm-{uuid.uuid4().hex[:8]}"
    group_arn = log_group(srv, group)
    role_arn = logs_role(srv, group_arn)
    role = role_arn.rsplit("/", 1)[1]
    name = f"t-{uuid.uuid4().hex[:8]}"
    ct.create_trail(Name=name, S3BucketName=trail_bucket(srv), CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=role_arn)
    ct.start_logging(Name=name)
    stream = "000000000000_CloudTrail_us-east-1"

    def delivered():
        try:
            events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
        except ClientError:
            return set()
        return {json.loads(e["message"]).get("requestID") for e in events}

    first = srv.client("sns").create_topic(Name=f"p1-{name}")["ResponseMetadata"]["RequestId"]
    srv.advance(10)
    assert first in delivered()
    # The session's writes are the role's: the stream was created by an assumed-role session.
    mine = []
    for _ in range(50):
        created = lookup(ct, "EventName", "CreateLogStream")
        mine = [json.loads(e["CloudTrailEvent"]) for e in created]
        mine = [e for e in mine if (e.get("requestParameters") or {}).get("logGroupName") == group]
        if mine:
            break
        time.sleep(0.02)
    assert mine and mine[0]["userIdentity"]["type"] == "AssumedRole"
    assert mine[0]["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com"
    assert mine[0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role_arn

    # Without the permission, delivery fails, is reported, and nothing is lost.
    iam.delete_role_policy(RoleName=role, PolicyName="AWSCloudTrailCloudWatchLogsPolicy")
    second = srv.client("sns").create_topic(Name=f"p2-{name}")["ResponseMetadata"]["RequestId"]
    srv.advance(10)
    assert second not in delivered()
    status = ct.get_trail_status(Name=name)
    assert "AccessDenied" in status["LatestCloudWatchLogsDeliveryError"], status
    iam.put_role_policy(RoleName=role, PolicyName="AWSCloudTrailCloudWatchLogsPolicy",
                        PolicyDocument=seed_logs_policy(group_arn))
    srv.advance(10)
    assert second in delivered()
    assert "LatestCloudWatchLogsDeliveryError" not in ct.get_trail_status(Name=name)
    ct.delete_trail(Name=name)


def test_cloudtrail_assuming_the_logs_role_is_in_the_roles_history(server):
    """A service taking a customer's role is an API call the customer sees: an AWSService
    identity, the service as source and agent, the session's credentials without their
    secret; and a trust policy that refuses it is an AccessDenied event."""
    ct = server.client("cloudtrail")
    group = f"ct-assume-{uuid.uuid4().hex[:8]}"
    group_arn = log_group(server, group)
    role_arn = logs_role(server, group_arn)
    refusing = logs_role(server, group_arn, trusted="ec2.amazonaws.com")
    bucket = trail_bucket(server)
    with pytest.raises(ClientError):
        ct.create_trail(Name=f"t-{uuid.uuid4().hex[:8]}", S3BucketName=bucket,
                        CloudWatchLogsLogGroupArn=group_arn, CloudWatchLogsRoleArn=refusing)
    name = f"t-{uuid.uuid4().hex[:8]}"
    ct.create_trail(Name=name, S3BucketName=bucket, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=role_arn)

    def assumed(arn):
        for _ in range(50):
            found = [json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "EventName", "AssumeRole")]
            found = [r for r in found if (r.get("requestParameters") or {}).get("roleArn") == arn
                     or any(res.get("ARN") == arn for res in r.get("resources") or [])]
            if found:
                return found
            time.sleep(0.02)
        return []

    ok = assumed(role_arn)
    assert ok, "CloudTrail's AssumeRole of the logs role is not in event history"
    rec = ok[0]
    assert rec["userIdentity"] == {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"}
    assert rec["sourceIPAddress"] == "cloudtrail.amazonaws.com"
    assert rec["userAgent"] == "cloudtrail.amazonaws.com"
    assert rec["eventSource"] == "sts.amazonaws.com"
    assert rec["eventType"] == "AwsApiCall"
    assert rec["managementEvent"] is True and rec["eventCategory"] == "Management"
    assert rec["recipientAccountId"] == "000000000000"
    assert rec["requestParameters"]["roleSessionName"] == "CloudTrail"
    assert rec["resources"] == [{"accountId": "000000000000", "type": "AWS::IAM::Role", "ARN": role_arn}]
    creds = rec["responseElements"]["credentials"]
    assert creds["accessKeyId"].startswith("ASIA") and creds["sessionToken"]
    assert "secretAccessKey" not in creds and "errorCode" not in rec
    by_role = lookup(ct, "ResourceName", role_arn.rsplit("/", 1)[1])
    assert rec["eventID"] in {e["EventId"] for e in by_role}

    denied = assumed(refusing)
    assert denied, "the refused AssumeRole is not in event history"
    assert denied[0]["errorCode"] == "AccessDenied"
    assert denied[0]["userIdentity"]["invokedBy"] == "cloudtrail.amazonaws.com"
    assert denied[0]["responseElements"] is None
    ct.delete_trail(Name=name)


def test_organization_trails_are_refused_outside_an_organization(server):
    ct = server.client("cloudtrail")
    bucket = trail_bucket(server)
    with pytest.raises(ClientError) as exc:
        ct.create_trail(Name=f"t-{uuid.uuid4().hex[:8]}", S3BucketName=bucket, IsOrganizationTrail=True)
    assert exc.value.response["Error"]["Code"] == "OrganizationsNotInUseException"
    name = f"t-{uuid.uuid4().hex[:8]}"
    ct.create_trail(Name=name, S3BucketName=bucket)
    with pytest.raises(ClientError) as exc:
        ct.update_trail(Name=name, IsOrganizationTrail=True)
    assert exc.value.response["Error"]["Code"] == "OrganizationsNotInUseException"
    assert ct.get_trail(Name=name)["Trail"]["IsOrganizationTrail"] is False
    ct.delete_trail(Name=name)


def test_history_survives_kill_9(fresh_server):
    rid = fresh_server.client("sts").get_caller_identity()["ResponseMetadata"]["RequestId"]
    ct = fresh_server.client("cloudtrail")
    assert lookup(ct, "EventName", "GetCallerIdentity")
    fresh_server.restart()
    events = fresh_server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}])["Events"]
    assert any(json.loads(e["CloudTrailEvent"])["requestID"] == rid for e in events)


def test_history_keeps_90_days(manual_server):
    """Events older than 90 days leave event history at the next hourly expiry. Old
    events are imported with their original times rather than waited for."""
    import datetime
    now = datetime.datetime.fromisoformat(manual_server.admin("/_mamori/clock", {"advance_seconds": 0})["now"].replace("Z", "+00:00"))
    records = []
    for days, eid in [(91, "old-91"), (89, "old-89")]:
        t = (now - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        records.append({"eventTime": t, "eventName": "ListKeys", "eventSource": "kms.amazonaws.com",
                        "awsRegion": "us-east-1", "recipientAccountId": "000000000000", "eventID": eid,
                        "userIdentity": {"type": "Root", "accountId": "000000000000"}})
    assert manual_server.admin("/_mamori/cloudtrail/import", {"records": records})["imported"] == 2
    ct = manual_server.client("cloudtrail")

    def present(eid):
        return bool(ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": eid}])["Events"])

    # The 91-day-old event is already outside the window LookupEvents reads...
    assert not present("old-91") and present("old-89")
    manual_server.advance(3600)
    # ...and the hourly expiry deleted it; the 89-day-old one stays.
    assert present("old-89")


def test_import_of_real_log_files(fresh_server, tmp_path):
    import gzip
    import subprocess
    from conftest import BINARY
    record = {"eventVersion": "1.08", "eventTime": "2023-05-01T12:00:00Z", "eventSource": "kms.amazonaws.com",
              "eventName": "ScheduleKeyDeletion", "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.5",
              "userAgent": "aws-cli/2", "requestParameters": {"keyId": "k"}, "responseElements": None,
              "requestID": "r1", "eventID": "imported-1", "readOnly": False, "eventType": "AwsApiCall",
              "managementEvent": True, "recipientAccountId": "000000000000", "eventCategory": "Management",
              "userIdentity": {"type": "IAMUser", "userName": "mallory", "accessKeyId": "AKIAIMPORT",
                               "accountId": "000000000000", "arn": "arn:aws:iam::000000000000:user/mallory"}}
    logs = tmp_path / "AWSLogs"
    logs.mkdir()
    with gzip.open(logs / "a.json.gz", "wt") as f:
        json.dump({"Records": [record]}, f)
    (logs / "broken.json").write_text('{"Records": [\n  {"eventTime": 1,\n')
    proc = subprocess.run([str(BINARY), "cloudtrail", "import", "--endpoint", fresh_server.url, "--rebase-time", str(logs)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stderr  # the broken file is reported
    assert "broken.json: line 3" in proc.stderr
    assert "imported 1 records from 2 files" in proc.stderr
    events = fresh_server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "mallory"}])["Events"]
    assert [e["EventId"] for e in events] == ["imported-1"]
    rec = json.loads(events[0]["CloudTrailEvent"])
    assert rec["eventTime"] != "2023-05-01T12:00:00Z", "rebased to now"


def test_lookup_by_resource_type_and_name(server):
    s3, ct = server.client("s3"), server.client("cloudtrail")
    bucket = f"res-{uuid.uuid4().hex[:10]}"
    rid = s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["RequestId"]
    events = lookup(ct, "ResourceName", bucket)
    assert [json.loads(e["CloudTrailEvent"])["requestID"] for e in events] == [rid]
    assert events[0]["Resources"] == [{"ResourceType": "AWS::S3::Bucket", "ResourceName": bucket}]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["resources"] == [{"accountId": "000000000000", "type": "AWS::S3::Bucket",
                                    "ARN": f"arn:aws:s3:::{bucket}"}]
    by_type = lookup(ct, "ResourceType", "AWS::S3::Bucket", MaxResults=50)
    assert all(any(r["ResourceType"] == "AWS::S3::Bucket" for r in e["Resources"]) for e in by_type)
    assert rid in [json.loads(e["CloudTrailEvent"])["requestID"] for e in by_type]
    iam = server.client("iam")
    user = f"res-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    events = lookup(ct, "ResourceName", user)
    assert [e["EventName"] for e in events] == ["CreateUser"]
    assert events[0]["Resources"] == [{"ResourceType": "AWS::IAM::User", "ResourceName": user}]
    assert lookup(ct, "ResourceName", "no-such-resource", attempts=1) == []
