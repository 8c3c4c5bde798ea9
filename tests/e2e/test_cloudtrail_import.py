"""`mamori cloudtrail import` end to end: real-looking trail files (gzip and plain, some
broken) go through the CLI into event history and, through a trail, into its log group,
where the seed's CIS filters count them and the CIS 3.1 alarm fires."""

import datetime
import gzip
import json
import subprocess
import time
import uuid

from conftest import BINARY
from cis import CIS_FILTERS
from trail_bucket import logs_role, trail_bucket


def rec(uid, i, when, **extra):
    r = {"eventVersion": "1.08", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
         "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "awsRegion": "us-east-1",
         "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.15.0", "requestParameters": {"maxResults": i},
         "responseElements": None, "requestID": str(uuid.uuid4()), "eventID": f"{uid}-{i}", "readOnly": True,
         "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "000000000000",
         "eventCategory": "Management",
         "userIdentity": {"type": "IAMUser", "userName": f"importer-{uid}", "accessKeyId": "AKIAIMPORTTEST",
                          "accountId": "000000000000", "arn": f"arn:aws:iam::000000000000:user/importer-{uid}"}}
    r.update(extra)
    return r


def write_gz(path, records):
    with gzip.open(path, "wt") as f:
        json.dump({"Records": records}, f)


def import_cli(server, *args):
    return subprocess.run([str(BINARY), "cloudtrail", "import", "--endpoint", server.url, *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def history(server, uid):
    ct = server.client("cloudtrail")
    ids, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": f"importer-{uid}"}],
                                MaxResults=50, **kw)
        ids += [e["EventId"] for e in page["Events"]]
        token = page.get("NextToken")
        if not token:
            return ids


def test_broken_files_are_reported_by_file_and_line_and_the_rest_arrive(server, tmp_path):
    uid = uuid.uuid4().hex[:8]
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    logs = tmp_path / "AWSLogs" / "000000000000" / "CloudTrail"
    logs.mkdir(parents=True)
    write_gz(logs / "a.json.gz", [rec(uid, i, t) for i in range(300)])
    (logs / "b.json").write_text(json.dumps({"Records": [rec(uid, i, t) for i in range(300, 500)]}, indent=2))
    (logs / "c.json").write_text('{"Records": [\n  {"eventTime": "2023-01-01T00:00:00Z"},\n  {"eventName": ]}\n')
    good = gzip.compress(json.dumps({"Records": [rec(uid, 999, t)]}).encode())
    (logs / "d.json.gz").write_bytes(good[: len(good) // 2])
    (logs / "e.json").write_text('{"records": []}')
    no_time = rec(uid, 501, t)
    del no_time["eventTime"]
    (logs / "f.json").write_text(json.dumps({"Records": [rec(uid, 500, t), no_time]}))
    (logs / "notes.txt").write_text("not a log file: skipped inside a directory")
    # Small batches and several requests in flight: batches span files and finish out of order.
    proc = import_cli(server, "--batch", "64", "--parallel", "3", tmp_path / "AWSLogs")
    assert proc.returncode == 1, proc.stderr
    err = proc.stderr
    assert f"{logs / 'c.json'}: line 3, column 17: expected value\n" in err, err
    assert f"{logs / 'd.json.gz'}: gzip" in err, err
    assert f"{logs / 'e.json'}: not a CloudTrail log file" in err, err
    assert f"rejected: {logs / 'f.json'}: record 2: eventTime is missing" in err, err
    assert "imported 501 records from 6 files (4 problems)" in err, err
    ids = history(server, uid)
    assert sorted(ids) == sorted(f"{uid}-{i}" for i in range(501))
    # The records are kept as they came: every field, not only the indexed ones.
    ev = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": f"{uid}-7"}])["Events"][0]
    assert json.loads(ev["CloudTrailEvent"]) == rec(uid, 7, t) | {"requestID": json.loads(ev["CloudTrailEvent"])["requestID"]}
    assert ev["AccessKeyId"] == "AKIAIMPORTTEST" and ev["ReadOnly"] == "true"
    # A pretty-printed file's records are stored compact, as CloudTrail writes them.
    pretty = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": f"{uid}-300"}])["Events"][0]["CloudTrailEvent"]
    assert "\n" not in pretty and json.loads(pretty)["requestParameters"] == {"maxResults": 300}


def test_import_needs_the_root_user(server, tmp_path):
    iam = server.client("iam")
    name = f"notroot-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    write_gz(tmp_path / "a.json.gz", [rec("x", 0, datetime.datetime.now(datetime.timezone.utc))])
    proc = subprocess.run([str(BINARY), "cloudtrail", "import", "--endpoint", server.url,
                           "--access-key-id", key["AccessKeyId"], "--secret-access-key", key["SecretAccessKey"],
                           str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "403" in proc.stderr and "Only the root user" in proc.stderr, proc.stderr


def test_an_ndjson_body_is_a_record_per_line(server):
    """What the CLI sends: a record per line, the shift in a signed header. A broken line
    is refused by its number and the others are stored, shifted."""
    uid = uuid.uuid4().hex[:8]
    # Two days ago, shifted by one: inside event history's 90 days.
    when = (server.now() - datetime.timedelta(days=2)).replace(microsecond=0)
    lines = [json.dumps(rec(uid, 0, when)), '{"eventTime": "2023-05-01T12:00:00Z", "eventName": "X"',
             json.dumps(rec(uid, 2, when))]
    body = "\n".join(lines) + "\n"
    headers = {"content-type": "application/x-ndjson", "x-mamori-shift-seconds": "86400"}
    status, _, data = server.request("POST", "/_mamori/cloudtrail/import", body, headers, service="mamori")
    assert status == 200, data
    answer = json.loads(data)
    assert answer == {"imported": 2, "rejected": ["record 1: not a CloudTrail record"]}, answer
    ct = server.client("cloudtrail")
    for i in (0, 2):
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": f"{uid}-{i}"}],
                                  StartTime=when, EndTime=when + datetime.timedelta(days=2))["Events"]
        assert len(events) == 1, (i, events)
        shifted = (when + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert json.loads(events[0]["CloudTrailEvent"])["eventTime"] == shifted
    headers["x-mamori-shift-seconds"] = "a day"
    status, _, data = server.request("POST", "/_mamori/cloudtrail/import", body, headers, service="mamori")
    assert status == 400 and b"x-mamori-shift-seconds is not a whole number" in data, data


def test_a_json_body_takes_its_shift_from_the_body_or_the_header(server):
    """The JSON form carries the shift in `shift_seconds`; the header applies when the body
    has none, and a header that disagrees with the body is refused."""
    uid = uuid.uuid4().hex[:8]
    when = (server.now() - datetime.timedelta(days=3)).replace(microsecond=0)
    ct = server.client("cloudtrail")

    def post(doc, shift=None):
        headers = {"content-type": "application/json"}
        if shift is not None:
            headers["x-mamori-shift-seconds"] = shift
        return server.request("POST", "/_mamori/cloudtrail/import", json.dumps(doc), headers, service="mamori")

    def stored_time(i):
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": f"{uid}-{i}"}],
                                  StartTime=when, EndTime=when + datetime.timedelta(days=3))["Events"]
        assert len(events) == 1, (i, events)
        return json.loads(events[0]["CloudTrailEvent"])["eventTime"]

    day = lambda n: (when + datetime.timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    status, _, data = post({"records": [rec(uid, 0, when)], "shift_seconds": 86400})
    assert status == 200, data
    status, _, data = post({"records": [rec(uid, 1, when)]}, shift="172800")
    assert status == 200, data
    status, _, data = post({"records": [rec(uid, 2, when)], "shift_seconds": 86400}, shift="86400")
    assert status == 200, data
    assert [stored_time(i) for i in range(3)] == [day(1), day(2), day(1)]
    status, _, data = post({"records": [rec(uid, 3, when)], "shift_seconds": 86400}, shift="3600")
    assert status == 400 and b"shift_seconds (86400) and x-mamori-shift-seconds (3600) disagree" in data, data


def test_imported_records_raise_the_cis_3_1_alarm(manual_server, tmp_path):
    """Six minutes with an unauthorized call among ordinary reads, imported with
    --rebase-time (to the server's manual clock), reach the trail's log group through
    the 14 CIS filters and move CIS 3.1 (6 of 60 one-minute periods) to ALARM."""
    uid = uuid.uuid4().hex[:8]
    namespace = f"CISimport-{uid}"
    logs, ct, cw = (manual_server.client(s) for s in ("logs", "cloudtrail", "cloudwatch"))
    group = f"CloudTrail/import-{uid}"
    logs.create_log_group(logGroupName=group)
    for name, pattern in CIS_FILTERS:
        logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern,
                               metricTransformations=[{"metricName": name, "metricNamespace": namespace, "metricValue": "1"}])
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    trail = f"import-{uid}"
    ct.create_trail(Name=trail, S3BucketName=trail_bucket(manual_server), CloudWatchLogsLogGroupArn=arn,
                    CloudWatchLogsRoleArn=logs_role(manual_server, arn))
    ct.start_logging(Name=trail)
    alarm = f"Warning-{uid}-CloudTrail-Unauthorized-API-Calls"
    cw.put_metric_alarm(AlarmName=alarm, ActionsEnabled=False, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        DatapointsToAlarm=6, EvaluationPeriods=60, MetricName="UnauthorizedAPICalls",
                        Namespace=namespace, Period=60, Statistic="Maximum", Threshold=1, TreatMissingData="notBreaching")
    manual_server.advance(61)
    assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK"

    # A day of production long ago: 8 minutes of reads, an AccessDenied in the first 6.
    start = datetime.datetime(2023, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    files = [[], []]
    n = 0
    for minute in range(8):
        for s in range(0, 60, 2):
            extra = {}
            if minute < 6 and s == 30:
                extra = {"errorCode": "AccessDenied", "errorMessage": "User is not authorized"}
            files[minute % 2].append(rec(uid, n, start + datetime.timedelta(minutes=minute, seconds=s), **extra))
            n += 1
    for i, records in enumerate(files):
        write_gz(tmp_path / f"000000000000_CloudTrail_us-east-1_2023050{i}T1200Z_x.json.gz", records)
    (tmp_path / "broken.json").write_text('{"Records": [\n{"eventTime": \n')
    proc = import_cli(manual_server, "--rebase-time", tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "broken.json: line 3" in proc.stderr
    assert f"imported {n} records from 3 files (1 problems)" in proc.stderr, proc.stderr

    # Rebased onto the server's clock: the newest record happens "now" there.
    now = datetime.datetime.fromisoformat(manual_server.advance(0)["now"].replace("Z", "+00:00"))
    newest = json.loads(ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": f"{uid}-{n - 1}"}])["Events"][0]["CloudTrailEvent"])
    newest_time = datetime.datetime.fromisoformat(newest["eventTime"].replace("Z", "+00:00"))
    assert abs((now - newest_time).total_seconds()) < 5, (now, newest_time)

    manual_server.advance(6)  # delivery to the log group, then the filters' datapoints
    denied = logs.filter_log_events(logGroupName=group, filterPattern=CIS_FILTERS[0][1])["events"]
    assert len(denied) == 6
    assert all(e["logStreamName"] == "000000000000_CloudTrail_us-east-1" for e in denied)
    state = None
    for _ in range(3):
        manual_server.advance(60)
        state = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
        if state["StateValue"] == "ALARM":
            break
    assert state["StateValue"] == "ALARM", state["StateReason"]
    assert ct.get_trail_status(Name=trail).get("LatestCloudWatchLogsDeliveryError") is None


def test_a_large_import_reaches_the_log_group_once_each(server, tmp_path):
    """An import larger than one PutLogEvents batch (about 4 MB of records: several 1 MiB
    batches of one delivery run, sent concurrently) reaches the trail's log group with
    every record exactly once."""
    uid = uuid.uuid4().hex[:8]
    logs, ct = server.client("logs"), server.client("cloudtrail")
    group = f"CloudTrail/large-{uid}"
    logs.create_log_group(logGroupName=group)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    trail = f"large-{uid}"
    ct.create_trail(Name=trail, S3BucketName=trail_bucket(server), CloudWatchLogsLogGroupArn=arn,
                    CloudWatchLogsRoleArn=logs_role(server, arn))
    ct.start_logging(Name=trail)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    n = 2600
    records = [rec(uid, i, now + datetime.timedelta(milliseconds=100 * i), additionalEventData={"pad": "x" * 1400})
               for i in range(n)]
    write_gz(tmp_path / "000000000000_CloudTrail_us-east-1_large.json.gz", records)
    proc = import_cli(server, tmp_path)
    assert proc.returncode == 0, proc.stderr

    def delivered():
        ids = []
        for page in logs.get_paginator("filter_log_events").paginate(
                logGroupName=group, filterPattern=f'{{ $.userIdentity.userName = "importer-{uid}" }}'):
            ids += [json.loads(e["message"])["eventID"] for e in page["events"]]
        return ids

    ids = []
    for _ in range(100):
        ids = delivered()
        if len(ids) >= n:
            break
        time.sleep(0.2)
    assert len(ids) == n, f"{len(ids)} of {n} records delivered"
    assert sorted(ids) == sorted(f"{uid}-{i}" for i in range(n)), "each record exactly once"
    status = ct.get_trail_status(Name=trail)
    assert "LatestCloudWatchLogsDeliveryError" not in status, status
