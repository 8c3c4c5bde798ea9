"""CloudWatch Logs end to end, through boto3 and the aws CLI: groups, streams, events
(with AWS's rejection rules), reads, filter patterns, retention on a manual clock, the CIS
metric filters from the seed, and durability of events and queued datapoints."""

import datetime
import json
import re
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from cis import CIS_CASES, CIS_FILTERS, put_cis_filters

ACCOUNT = "000000000000"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms():
    return int(time.time() * 1000)


def error_of(exc):
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def logs(server):
    return server.client("logs")


def make_stream(logs, group=None, stream="s1"):
    group = group or unique("/test/group")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group, stream


def messages(events):
    return [e["message"] for e in events]


def test_group_and_stream_lifecycle(logs):
    group = unique("/aws/lifecycle")
    logs.create_log_group(logGroupName=group, tags={"team": "sec"}, kmsKeyId="alias/logs")
    got = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert len(got) == 1
    g = got[0]
    assert g["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:*"
    assert g["logGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"
    assert g["logGroupClass"] == "STANDARD" and g["kmsKeyId"] == "alias/logs"
    assert g["metricFilterCount"] == 0 and "retentionInDays" not in g
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=group)
    assert error_of(exc)[0] == "ResourceAlreadyExistsException"

    for name in ["b", "a", "c/d [x]"]:
        logs.create_log_stream(logGroupName=group, logStreamName=name)
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName=group, logStreamName="a")
    assert error_of(exc)[0] == "ResourceAlreadyExistsException"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["a", "b", "c/d [x]"]
    assert streams[0]["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:log-stream:a"
    assert "uploadSequenceToken" in streams[0] and "lastEventTimestamp" not in streams[0]
    # The ARN works as an identifier.
    by_arn = logs.describe_log_streams(logGroupIdentifier=g["arn"], logStreamNamePrefix="c")
    assert [s["logStreamName"] for s in by_arn["logStreams"]] == ["c/d [x]"]

    logs.delete_log_stream(logGroupName=group, logStreamName="b")
    with pytest.raises(ClientError) as exc:
        logs.delete_log_stream(logGroupName=group, logStreamName="b")
    assert error_of(exc) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(ClientError) as exc:
        logs.describe_log_streams(logGroupName=group)
    assert error_of(exc) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_describe_log_groups_pages_and_patterns(logs):
    base = unique("/page")
    names = [f"{base}/g{i:02}" for i in range(7)]
    for n in names:
        logs.create_log_group(logGroupName=n)
    seen, token = [], None
    while True:
        kw = {"nextToken": token} if token else {}
        page = logs.describe_log_groups(logGroupNamePrefix=base, limit=3, **kw)
        seen += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == names
    pattern = logs.describe_log_groups(logGroupNamePattern=base.split("-")[1] + "/g0")["logGroups"]
    assert {g["logGroupName"] for g in pattern} == set(names)
    paginator = logs.get_paginator("describe_log_groups")
    total = sum(len(p["logGroups"]) for p in paginator.paginate(logGroupNamePrefix=base, PaginationConfig={"PageSize": 2}))
    assert total == 7


def test_put_get_events_with_rejections(logs):
    group, stream = make_stream(logs)
    now = now_ms()
    old = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now - 15 * 86_400_000, "message": "too old"},
        {"timestamp": now - 15 * 86_400_000 + 5, "message": "too old 2"},
    ])
    assert old["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    res = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now - 2000, "message": "first"},
        {"timestamp": now - 1000, "message": "second"},
        {"timestamp": now, "message": "third"},
        {"timestamp": now + 3 * 3_600_000, "message": "too new"},
    ])
    assert res["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 3}
    assert res["nextSequenceToken"]
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(got["events"]) == ["first", "second", "third"]
    assert got["events"][0]["timestamp"] == now - 2000
    assert got["events"][0]["ingestionTime"] >= now - 5000
    assert got["nextForwardToken"].startswith("f/") and got["nextBackwardToken"].startswith("b/")
    s = logs.describe_log_streams(logGroupName=group)["logStreams"][0]
    assert (s["firstEventTimestamp"], s["lastEventTimestamp"]) == (now - 2000, now)
    assert s["lastIngestionTime"] >= now - 5000

    # Missing group or stream.
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName="nope", logEvents=[{"timestamp": now, "message": "x"}])
    assert error_of(exc) == ("ResourceNotFoundException", "The specified log stream does not exist.")
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=unique("nope"), logStreamName=stream, logEvents=[{"timestamp": now, "message": "x"}])
    assert error_of(exc) == ("ResourceNotFoundException", "The specified log group does not exist.")


def test_get_log_events_tokens(logs):
    group, stream = make_stream(logs)
    base = now_ms() - 60_000
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": base + i, "message": f"m{i:02}"} for i in range(25)])
    # Forward from the head until the token repeats.
    seen, token = [], None
    for _ in range(10):
        kw = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10, **kw)
        seen += messages(page["events"])
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert seen == [f"m{i:02}" for i in range(25)]
    # Default: the newest events, then backward pages.
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10)
    assert messages(tail["events"]) == [f"m{i:02}" for i in range(15, 25)]
    back = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=10, nextToken=tail["nextBackwardToken"])
    assert messages(back["events"]) == [f"m{i:02}" for i in range(5, 15)]
    # Time bounds: start inclusive, end exclusive.
    window = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=base + 3, endTime=base + 6, startFromHead=True)
    assert messages(window["events"]) == ["m03", "m04", "m05"]


def test_filter_log_events_patterns(logs):
    group, _ = make_stream(logs, stream="app")
    logs.create_log_stream(logGroupName=group, logStreamName="web")
    now = now_ms()
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[
        {"timestamp": now - 50, "message": "[ERROR 400] BAD REQUEST"},
        {"timestamp": now - 40, "message": "[ERROR 419] MISSING ARGUMENTS"},
        {"timestamp": now - 30, "message": '{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111"}'},
    ])
    logs.put_log_events(logGroupName=group, logStreamName="web", logEvents=[
        {"timestamp": now - 45, "message": '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'},
        {"timestamp": now - 35, "message": "[SUCCESS 200] AUTHORIZED REQUEST"},
    ])
    cases = [
        ("ERROR", ["[ERROR 400] BAD REQUEST", "[ERROR 419] MISSING ARGUMENTS"]),
        ("ERROR -ARGUMENTS", ["[ERROR 400] BAD REQUEST"]),
        ('"AUTHORIZED REQUEST"', ["[SUCCESS 200] AUTHORIZED REQUEST"]),
        ("{ $.sourceIPAddress != 123.123.* }", ['{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111"}']),
        ("[ip, user, username, timestamp, request = *.html*, status_code = 4*, bytes]",
         ['127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534']),
        ("%AUTHORIZED%", ["[SUCCESS 200] AUTHORIZED REQUEST"]),
    ]
    for pattern, want in cases:
        got = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
        assert messages(got) == want, pattern
    everything = logs.filter_log_events(logGroupName=group)["events"]
    assert [e["logStreamName"] for e in everything] == ["app", "web", "app", "web", "app"]
    assert len({e["eventId"] for e in everything}) == 5
    only_web = logs.filter_log_events(logGroupName=group, logStreamNames=["web"])["events"]
    assert len(only_web) == 2
    by_prefix = logs.filter_log_events(logGroupName=group, logStreamNamePrefix="ap", startTime=now - 40)["events"]
    assert len(by_prefix) == 2
    # Pagination through the boto3 paginator.
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 2})
    assert sum(len(p["events"]) for p in pages) == 5
    with pytest.raises(ClientError) as exc:
        logs.filter_log_events(logGroupName=group, filterPattern="{ $.eventName }")
    code, message = error_of(exc)
    assert code == "InvalidParameterException" and "offset 14" in message


def test_bad_input_and_nothing_lost(logs):
    group, stream = make_stream(logs)
    now = now_ms()
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": "kept"}])
    bad_calls = [
        (lambda: logs.create_log_group(logGroupName="bad name"), "InvalidParameterException", "regular expression"),
        (lambda: logs.create_log_group(logGroupName="a" * 513), "InvalidParameterException", "512"),
        (lambda: logs.create_log_stream(logGroupName=group, logStreamName="a:b"), "InvalidParameterException", None),
        (lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=4), "InvalidParameterException", "enum value set"),
        (lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}]),
         "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order."),
        (lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now - 25 * 3_600_000, "message": "a"}, {"timestamp": now, "message": "b"}]),
         "InvalidParameterException", "24 hours"),
        (lambda: logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now, "message": "x" * 600_000}, {"timestamp": now, "message": "y" * 600_000}]),
         "InvalidParameterException", "Upload too large: 1200052 bytes exceeds limit of 1048576"),
        (lambda: logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="{ $.a = ",
                                        metricTransformations=[{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}]),
         "InvalidParameterException", "Invalid metric filter pattern: invalid filter pattern at offset"),
        (lambda: logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="{ $.a = 1 }",
                                        metricTransformations=[{"metricName": "M", "metricNamespace": "N", "metricValue": "1",
                                                                "defaultValue": 0, "dimensions": {"A": "$.a"}}]),
         "InvalidParameterException", None),
        (lambda: logs.put_metric_filter(logGroupName=group, filterName="f", filterPattern="x",
                                        metricTransformations=[{"metricName": "M:1", "metricNamespace": "N", "metricValue": "1"}]),
         "InvalidParameterException", None),
    ]
    for call, code, text in bad_calls:
        with pytest.raises(ClientError) as exc:
            call()
        got_code, got_message = error_of(exc)
        assert got_code == code, got_message
        if text:
            assert text in got_message, got_message
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    assert messages(got["events"]) == ["kept"]
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []


def test_tags_new_and_legacy(logs):
    group = unique("tagged")
    logs.create_log_group(logGroupName=group, tags={"a": "1"})
    arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}"
    logs.tag_resource(resourceArn=arn, tags={"b": "2"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"a": "1", "b": "2"}
    logs.untag_resource(resourceArn=arn, tagKeys=["a"])
    logs.tag_log_group(logGroupName=group, tags={"c": "3"})
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == {"b": "2", "c": "3"}
    logs.untag_log_group(logGroupName=group, tags=["b", "c"])
    assert logs.list_tags_for_resource(resourceArn=arn + ":*")["tags"] == {}
    logs.tag_resource(resourceArn=arn, tags={f"k{i}": "v" for i in range(49)})
    with pytest.raises(ClientError) as exc:
        logs.tag_resource(resourceArn=arn, tags={"x": "1", "y": "2"})
    assert error_of(exc)[0] == "TooManyTagsException"
    assert len(logs.list_tags_for_resource(resourceArn=arn)["tags"]) == 49


def test_metric_filter_describe_and_test(logs):
    group, _ = make_stream(logs)
    logs.put_metric_filter(
        logGroupName=group, filterName="bytes", filterPattern="[ip, user, status = 4*, bytes]",
        metricTransformations=[{"metricName": "Bytes", "metricNamespace": "Web", "metricValue": "$bytes",
                                "dimensions": {"User": "$user"}, "unit": "Bytes"}])
    logs.put_metric_filter(
        logGroupName=group, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": "Web", "metricValue": "1", "defaultValue": 0}])
    got = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in got] == ["bytes", "errors"]
    assert got[0]["metricTransformations"][0] == {"metricName": "Bytes", "metricNamespace": "Web", "metricValue": "$bytes",
                                                   "dimensions": {"User": "$user"}, "unit": "Bytes"}
    assert got[1]["metricTransformations"][0]["defaultValue"] == 0
    by_metric = logs.describe_metric_filters(metricName="Errors", metricNamespace="Web")["metricFilters"]
    assert group in {f["logGroupName"] for f in by_metric}
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 2
    res = logs.test_metric_filter(filterPattern="[ip, user, status = 4*, bytes]",
                                  logEventMessages=["1.2.3.4 bob 200 10", "1.2.3.4 eve 404 99"])
    assert res["matches"] == [{"eventNumber": 2, "eventMessage": "1.2.3.4 eve 404 99",
                               "extractedValues": {"$ip": "1.2.3.4", "$user": "eve", "$status": "404", "$bytes": "99"}}]
    logs.delete_metric_filter(logGroupName=group, filterName="bytes")
    with pytest.raises(ClientError) as exc:
        logs.delete_metric_filter(logGroupName=group, filterName="bytes")
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_cis_filters_verbatim_with_test_metric_filter(logs):
    assert len(CIS_FILTERS) == 14
    others = [m for _, (m, _) in CIS_CASES.items()]
    for name, pattern in CIS_FILTERS:
        hit, miss = CIS_CASES[name]
        res = logs.test_metric_filter(filterPattern=pattern, logEventMessages=[hit, miss])["matches"]
        assert [m["eventNumber"] for m in res] == [1], name
        # The matching record of every other filter misses this one.
        foreign = [h for n, (h, _) in CIS_CASES.items() if n != name]
        assert logs.test_metric_filter(filterPattern=pattern, logEventMessages=foreign)["matches"] == [], name
    assert len(others) == 14


def new_log_since(server, offset):
    text = server.log_text()
    return text[offset:], len(text)


def wait_for(server, regex, offset, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = server.log_text()[offset:]
        m = re.search(regex, text)
        if m:
            return m
        time.sleep(0.05)
    raise AssertionError(f"{regex!r} not in the server log:\n{server.log_text()[offset:][-3000:]}")


def test_cis_filters_on_ingestion_publish_metrics_durably(fresh_server):
    logs = fresh_server.client("logs")
    group, stream = unique("CloudTrail/DefaultLogGroup"), "000000000000_CloudTrail_us-east-1"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    put_cis_filters(logs, group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 14
    # One batch per record: the matching record queues exactly its metric, the near miss none.
    for name, (hit, miss) in CIS_CASES.items():
        for message, want in [(hit, f"{name}:1"), (miss, "")]:
            offset = len(fresh_server.log_text())
            logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": now_ms(), "message": message}])
            m = wait_for(fresh_server, r"log events stored.*?n_datapoints=(\d+) metrics=(\S*)", offset)
            assert m.group(2) == want, (name, message, m.group(0))
    # The queued datapoints reach CloudWatch through the dispatcher: one per metric.
    cw = fresh_server.client("cloudwatch")
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
    end = start + datetime.timedelta(minutes=20)

    def sums():
        got = {}
        for name in CIS_CASES:
            points = cw.get_metric_statistics(Namespace="LogMetrics", MetricName=name, StartTime=start, EndTime=end,
                                              Period=60, Statistics=["Sum"])["Datapoints"]
            got[name] = sum(p["Sum"] for p in points)
        return got

    deadline = time.time() + 20
    while time.time() < deadline and sums() != {name: 1.0 for name in CIS_CASES}:
        time.sleep(0.5)
    assert sums() == {name: 1.0 for name in CIS_CASES}
    # kill -9 and restart: groups, filters, events and metrics all survive.
    fresh_server.restart()
    logs = fresh_server.client("logs")
    cw = fresh_server.client("cloudwatch")
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 14
    stored = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert len(stored) == 28
    assert sums() == {name: 1.0 for name in CIS_CASES}


def test_retention_deletes_old_events_on_manual_clock(manual_server):
    logs = manual_server.client("logs")
    now = datetime.datetime.fromisoformat(manual_server.advance(0)["now"].replace("Z", "+00:00"))
    now = int(now.timestamp() * 1000)
    group, stream = make_stream(logs)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": now - 23 * 3_600_000, "message": "old"},
        {"timestamp": now, "message": "recent"},
    ])
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 1
    # An event older than the retention is rejected as expired.
    res = logs.put_log_events(logGroupName=group, logStreamName=stream,
                              logEvents=[{"timestamp": now - 25 * 3_600_000, "message": "expired"}])
    assert res["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
    manual_server.advance(2 * 3600)
    left = logs.filter_log_events(logGroupName=group)["events"]
    assert messages(left) == ["recent"]
    logs.delete_retention_policy(logGroupName=group)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]


def test_aws_cli(server):
    group = unique("/cli/group")
    server.aws("logs", "create-log-group", "--log-group-name", group)
    server.aws("logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "s")
    ts = now_ms()
    events = json.dumps([{"timestamp": ts, "message": "hello from the cli"}, {"timestamp": ts + 1, "message": "ERROR boom"}])
    out = server.aws("logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "s", "--log-events", events)
    assert "nextSequenceToken" in out
    got = server.aws("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "s", "--start-from-head")
    assert messages(got["events"]) == ["hello from the cli", "ERROR boom"]
    filtered = server.aws("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", "ERROR")
    assert messages(filtered["events"]) == ["ERROR boom"]
    groups = server.aws("logs", "describe-log-groups", "--log-group-name-prefix", group)
    assert [g["logGroupName"] for g in groups["logGroups"]] == [group]
    bad = server.aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "2", check=False)
    assert bad.returncode != 0 and "InvalidParameterException" in bad.stderr


def test_metric_filter_values_dimensions_and_default_reach_cloudwatch(server):
    logs, cw = server.client("logs"), server.client("cloudwatch")
    group, stream = make_stream(logs)
    ns = unique("App")
    logs.put_metric_filter(
        logGroupName=group, filterName="bytes", filterPattern="{ $.bytes > 0 }",
        metricTransformations=[{"metricName": "Bytes", "metricNamespace": ns, "metricValue": "$.bytes",
                                "dimensions": {"User": "$.user"}, "unit": "Bytes"}])
    logs.put_metric_filter(
        logGroupName=group, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "Errors", "metricNamespace": ns, "metricValue": "1", "defaultValue": 0}])
    ts = now_ms()
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": ts, "message": '{"bytes": 10, "user": "ann"}'},
        {"timestamp": ts, "message": '{"bytes": 30, "user": "ann"}'},
        {"timestamp": ts, "message": '{"bytes": 5, "user": "bob"}'},
    ])
    start = datetime.datetime.fromtimestamp(ts / 1000 - 600, datetime.timezone.utc)
    end = start + datetime.timedelta(minutes=20)

    def stats(name, dims):
        points = cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=dims, StartTime=start, EndTime=end,
                                          Period=60, Statistics=["Sum", "SampleCount", "Maximum"])["Datapoints"]
        return [(p["Sum"], p["SampleCount"], p["Maximum"], p.get("Unit")) for p in points]

    deadline = time.time() + 20
    while time.time() < deadline and not (stats("Bytes", [{"Name": "User", "Value": "ann"}]) and stats("Errors", [])):
        time.sleep(0.3)
    assert stats("Bytes", [{"Name": "User", "Value": "ann"}]) == [(40.0, 2.0, 30.0, "Bytes")]
    assert stats("Bytes", [{"Name": "User", "Value": "bob"}]) == [(5.0, 1.0, 5.0, "Bytes")]
    # No ERROR in a minute with events: the default value is published.
    assert stats("Errors", []) == [(0.0, 1.0, 0.0, "None")]


def test_filter_match_raises_a_10_second_alarm_in_its_own_period(manual_server):
    """A metric-filter datapoint keeps the second of its event, so a 10 s alarm counts the
    match in the period it happened in, not at the start of its minute."""
    logs, cw = manual_server.client("logs"), manual_server.client("cloudwatch")
    now = datetime.datetime.fromisoformat(manual_server.advance(0)["now"].replace("Z", "+00:00"))
    # Move to 35 s past a minute: the match lands in the [30, 40) period.
    now = datetime.datetime.fromisoformat(
        manual_server.advance((35 - now.second) % 60 or 60)["now"].replace("Z", "+00:00"))
    assert now.second == 35
    group, stream = make_stream(logs)
    metric = f"Unauthorized-{uuid.uuid4().hex[:8]}"
    logs.put_metric_filter(logGroupName=group, filterName="cis-3.1", filterPattern=CIS_FILTERS[0][1],
                           metricTransformations=[{"metricName": metric, "metricNamespace": "LogMetrics",
                                                   "metricValue": "1"}])
    cw.put_metric_alarm(AlarmName=metric, Namespace="LogMetrics", MetricName=metric, Statistic="Sum",
                        Period=10, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": int(now.timestamp() * 1000), "message": json.dumps({"errorCode": "AccessDenied"})}])
    # Wait until Logs handed the datapoint to CloudWatch, stamped at its second.
    for _ in range(200):
        points = cw.get_metric_statistics(Namespace="LogMetrics", MetricName=metric, Period=1,
                                          StartTime=now - datetime.timedelta(minutes=1),
                                          EndTime=now + datetime.timedelta(minutes=1),
                                          Statistics=["Sum"])["Datapoints"]
        if points:
            break
        time.sleep(0.01)
    assert [(p["Timestamp"], p["Sum"]) for p in points] == [(now.replace(microsecond=0), 1.0)]
    manual_server.advance(5)
    alarm = cw.describe_alarms(AlarmNames=[metric])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM", alarm["StateReason"]
    manual_server.advance(10)
    assert cw.describe_alarms(AlarmNames=[metric])["MetricAlarms"][0]["StateValue"] == "OK"
