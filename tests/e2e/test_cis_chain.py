"""The seed's monitoring chain end to end: a call that breaks a CIS rule is recorded by
CloudTrail, delivered to the trail's log group, counted by the CIS metric filter, and
moves the CIS alarm to ALARM, whose notification SNS delivers, signed, to an HTTP
subscriber; with no further breaches the alarm returns to OK (TreatMissingData
notBreaching) and the OK notification follows."""

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from cis import CIS_FILTERS
from trail_bucket import logs_role, trail_bucket
from test_sns import Listener, subscribe_confirmed, verify_signature

# The seed's SNSAlertTopicPolicy: anyone may publish.
SEED_TOPIC_POLICY = {"Version": "2008-10-17", "Statement": [
    {"Sid": "AllowPublish", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SNS:Publish", "Resource": "*"}]}


def notification(listener, state, after=None):
    """The first alarm notification to `state` (after the notification `after`)."""
    import time
    deadline = time.time() + 15
    while time.time() < deadline:
        notes = [json.loads(r["body"]) for r in listener.of("Notification")]
        if after is not None:
            notes = notes[[n["MessageId"] for n in notes].index(after["MessageId"]) + 1:]
        for n in notes:
            if json.loads(n["Message"])["NewStateValue"] == state:
                return n
        time.sleep(0.05)
    raise AssertionError(f"no {state} notification in {listener.requests}")


def test_cloudtrail_change_raises_the_cis_3_5_alarm(manual_server):
    uid = uuid.uuid4().hex[:8]
    namespace = f"CIS-{uid}"
    logs = manual_server.client("logs")
    ct = manual_server.client("cloudtrail")
    cw = manual_server.client("cloudwatch")
    group = f"CloudTrail/CIS-{uid}"
    logs.create_log_group(logGroupName=group)
    for name, pattern in CIS_FILTERS:
        logs.put_metric_filter(logGroupName=group, filterName=f"{name}Filter", filterPattern=pattern,
                               metricTransformations=[{"metricName": name, "metricNamespace": namespace,
                                                       "metricValue": "1"}])
    group_arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    trail = f"cis-{uid}"
    ct.create_trail(Name=trail, S3BucketName=trail_bucket(manual_server), IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn=logs_role(manual_server, group_arn))
    ct.start_logging(Name=trail)
    # StartLogging itself is a CloudTrail configuration change and reaches the group: let
    # its minute pass before the alarm exists.
    manual_server.advance(130)
    sns = manual_server.client("sns")
    topic_arn = sns.create_topic(Name=f"cis-alerts-{uid}")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(SEED_TOPIC_POLICY))
    listener = Listener()
    subscribe_confirmed(sns, topic_arn, listener)
    alarm = f"Warning-CIS-{uid}-CloudTrail-Changes"
    # CIS 3.5 as the seed declares it.
    cw.put_metric_alarm(AlarmName=alarm, AlarmDescription="CloudTrail configuration changed",
                        ActionsEnabled=True, AlarmActions=[topic_arn], OKActions=[topic_arn],
                        ComparisonOperator="GreaterThanOrEqualToThreshold", EvaluationPeriods=1,
                        MetricName="CloudTrailConfigurationChanges", Namespace=namespace, Period=60,
                        Statistic="Maximum", Threshold=1, TreatMissingData="notBreaching")
    manual_server.advance(60)
    assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK"

    # Start the breach just after a minute boundary, so the evaluation that judges its
    # minute comes after the delivery below, whatever the wall-clock second is.
    import datetime
    now = datetime.datetime.fromisoformat(manual_server.advance(0)["now"].replace("Z", "+00:00"))
    boundary = now.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1, seconds=1)
    manual_server.admin("/_mamori/clock", {"set": boundary.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    # The breach: a CloudTrail configuration change.
    ct.update_trail(Name=trail, IncludeGlobalServiceEvents=True)
    # Delivery to the log group (every 5 s), then the metric filter's datapoint, then the
    # evaluation at the next minute boundary.
    manual_server.advance(10)
    events = logs.filter_log_events(logGroupName=group, filterPattern='{ $.eventName = "UpdateTrail" }')["events"]
    assert len(events) == 1, events
    stream = events[0]["logStreamName"]
    assert stream == "000000000000_CloudTrail_us-east-1"
    manual_server.advance(55)
    state = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "ALARM", state["StateReason"]
    assert "Threshold Crossed" in state["StateReason"]
    history = cw.describe_alarm_history(AlarmName=alarm)["AlarmHistoryItems"]
    kinds = {h["HistoryItemType"] for h in history}
    assert "StateUpdate" in kinds and "Action" in kinds
    assert any(topic_arn in h["HistorySummary"] for h in history if h["HistoryItemType"] == "Action")
    assert any("Successfully executed action" in h["HistorySummary"] for h in history)
    assert ct.get_trail_status(Name=trail).get("LatestCloudWatchLogsDeliveryError") is None
    # The notification reaches the subscriber, signed, with CloudWatch's alarm message.
    note = notification(listener, "ALARM")
    verify_signature(note)
    assert note["Subject"].startswith(f'ALARM: "{alarm}" in ')
    message = json.loads(note["Message"])
    assert message["AlarmName"] == alarm and message["NewStateValue"] == "ALARM"
    assert message["Trigger"]["MetricName"] == "CloudTrailConfigurationChanges"
    assert message["AWSAccountId"] == "000000000000"

    # No new breach: back to OK one period later, with the OK notification.
    manual_server.advance(120)
    assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK"
    ok = notification(listener, "OK", after=note)
    assert json.loads(ok["Message"])["OldStateValue"] == "ALARM"
    listener.close()


def test_unauthorized_calls_raise_cis_3_1_after_six_breaching_minutes(manual_server):
    """CIS 3.1 as the seed declares it: 6 of 60 one-minute periods with an AccessDenied."""
    import pytest
    from botocore.exceptions import ClientError
    uid = uuid.uuid4().hex[:8]
    namespace = f"CIS31-{uid}"
    logs, ct, cw, iam = (manual_server.client(s) for s in ("logs", "cloudtrail", "cloudwatch", "iam"))
    group = f"CloudTrail/CIS31-{uid}"
    logs.create_log_group(logGroupName=group)
    name, pattern = CIS_FILTERS[0]
    assert name == "UnauthorizedAPICalls"
    logs.put_metric_filter(logGroupName=group, filterName=name, filterPattern=pattern,
                           metricTransformations=[{"metricName": name, "metricNamespace": namespace, "metricValue": "1"}])
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    ct.create_trail(Name=f"cis31-{uid}", S3BucketName=trail_bucket(manual_server), CloudWatchLogsLogGroupArn=arn,
                    CloudWatchLogsRoleArn=logs_role(manual_server, arn))
    ct.start_logging(Name=f"cis31-{uid}")
    alarm = f"Warning-{uid}-CloudTrail-Unauthorized-API-Calls"
    cw.put_metric_alarm(AlarmName=alarm, ActionsEnabled=True, AlarmActions=[f"arn:aws:sns:us-east-1:000000000000:t-{uid}"],
                        ComparisonOperator="GreaterThanOrEqualToThreshold", DatapointsToAlarm=6, EvaluationPeriods=60,
                        MetricName=name, Namespace=namespace, Period=60, Statistic="Maximum", Threshold=1,
                        TreatMissingData="notBreaching")
    iam.create_user(UserName=f"intruder-{uid}")
    key = iam.create_access_key(UserName=f"intruder-{uid}")["AccessKey"]
    intruder = manual_server.client("logs", aws_access_key_id=key["AccessKeyId"],
                                    aws_secret_access_key=key["SecretAccessKey"])
    for minute in range(6):
        with pytest.raises(ClientError) as exc:
            intruder.describe_log_groups()
        assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
        manual_server.advance(60)
        state = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]
        assert state == ("ALARM" if minute == 5 else "OK"), (minute, state)
    denied = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
    assert len(denied) == 6


def test_composite_alarm_over_cis_alarms_notifies_once_both_fire(manual_server):
    """A composite alarm over two CIS alarms goes to ALARM only when both children are in
    ALARM, and its SNS notification carries the rule and the triggering child."""
    uid = uuid.uuid4().hex[:8]
    region = "ap-northeast-1"
    cw = manual_server.client("cloudwatch", region_name=region)
    sns = manual_server.client("sns", region_name=region)
    topic_arn = sns.create_topic(Name=f"composite-{uid}")["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic_arn, AttributeName="Policy", AttributeValue=json.dumps(SEED_TOPIC_POLICY))
    listener = Listener()
    subscribe_confirmed(sns, topic_arn, listener)
    children = [f"Warning-{uid}-Unauthorized", f"Warning-{uid}-RootUsage"]
    for child, metric in zip(children, ["UnauthorizedAPICalls", "ForRootAcount"]):
        cw.put_metric_alarm(AlarmName=child, ComparisonOperator="GreaterThanOrEqualToThreshold",
                            EvaluationPeriods=1, MetricName=metric, Namespace=f"CIS-{uid}", Period=60,
                            Statistic="Maximum", Threshold=1, TreatMissingData="notBreaching")
    name = f"Critical-{uid}"
    rule = f'ALARM("{children[0]}") AND ALARM({children[1]})'
    cw.put_composite_alarm(AlarmName=name, AlarmRule=rule, AlarmActions=[topic_arn], OKActions=[topic_arn],
                           AlarmDescription="both CIS alarms")
    # Evaluated at once: its children have no data yet, so the rule is false.
    got = manual_server.aws("cloudwatch", "describe-alarms", "--alarm-types", "CompositeAlarm",
                            "--alarm-names", name, env={"AWS_DEFAULT_REGION": region})["CompositeAlarms"]
    assert [(a["AlarmName"], a["StateValue"], a["AlarmRule"]) for a in got] == [(name, "OK", rule)]
    assert cw.describe_alarms(AlarmNames=[name])["CompositeAlarms"] == []  # metric alarms only by default
    ok_note = notification(listener, "OK")
    # One child fires: the composite stays OK.
    cw.set_alarm_state(AlarmName=children[1], StateValue="ALARM", StateReason="root used")
    assert cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]["StateValue"] == "OK"
    # Both fire: ALARM, and the notification names the rule and the child that tipped it.
    manual_server.advance(1)
    cw.set_alarm_state(AlarmName=children[0], StateValue="ALARM", StateReason="denied calls")
    note = notification(listener, "ALARM", after=ok_note)
    verify_signature(note)
    msg = json.loads(note["Message"])
    assert (msg["AlarmName"], msg["OldStateValue"], msg["AlarmRule"]) == (name, "OK", rule)
    assert [c["Arn"].rsplit(":", 1)[1] for c in msg["TriggeringChildren"]] == [children[0]]
    assert msg["TriggeringChildren"][0]["State"]["Value"] == "ALARM"
    parents = cw.describe_alarms(ParentsOfAlarmName=children[0])["CompositeAlarms"]
    assert [p["AlarmName"] for p in parents] == [name]
    with pytest.raises(ClientError) as e:
        cw.delete_alarms(AlarmNames=[children[0]])
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == (
        f"Cannot delete {children[0]} as there are composite alarm(s) depending on it.")
