"""The seed's monitoring chain end to end: a call that breaks a CIS rule is recorded by
CloudTrail, delivered to the trail's log group, counted by the CIS metric filter, and
moves the CIS alarm to ALARM, whose action is attempted through SNS; with no further
breaches the alarm returns to OK (TreatMissingData notBreaching)."""

import uuid

from cis import CIS_FILTERS


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
    ct.create_trail(Name=trail, S3BucketName=f"cis-bucket-{uid}", IsMultiRegionTrail=True,
                    EnableLogFileValidation=True, CloudWatchLogsLogGroupArn=group_arn,
                    CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/CloudTrail_CloudWatchLogs_Role")
    ct.start_logging(Name=trail)
    # StartLogging itself is a CloudTrail configuration change and reaches the group: let
    # its minute pass before the alarm exists.
    manual_server.advance(130)
    topic_arn = f"arn:aws:sns:us-east-1:000000000000:cis-alerts-{uid}"
    alarm = f"Warning-CIS-{uid}-CloudTrail-Changes"
    # CIS 3.5 as the seed declares it.
    cw.put_metric_alarm(AlarmName=alarm, AlarmDescription="CloudTrail configuration changed",
                        ActionsEnabled=True, AlarmActions=[topic_arn], OKActions=[topic_arn],
                        ComparisonOperator="GreaterThanOrEqualToThreshold", EvaluationPeriods=1,
                        MetricName="CloudTrailConfigurationChanges", Namespace=namespace, Period=60,
                        Statistic="Maximum", Threshold=1, TreatMissingData="notBreaching")
    manual_server.advance(60)
    assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK"

    # The breach: a CloudTrail configuration change.
    ct.update_trail(Name=trail, IncludeGlobalServiceEvents=True)
    # Delivery to the log group (every 5 s), then the metric filter's datapoint, then the
    # evaluation at the next minute boundary.
    manual_server.advance(10)
    events = logs.filter_log_events(logGroupName=group, filterPattern='{ $.eventName = "UpdateTrail" }')["events"]
    assert len(events) == 1, events
    stream = events[0]["logStreamName"]
    assert stream == "000000000000_CloudTrail_us-east-1"
    manual_server.advance(60)
    state = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "ALARM", state["StateReason"]
    assert "Threshold Crossed" in state["StateReason"]
    history = cw.describe_alarm_history(AlarmName=alarm)["AlarmHistoryItems"]
    kinds = {h["HistoryItemType"] for h in history}
    assert "StateUpdate" in kinds and "Action" in kinds
    assert any(topic_arn in h["HistorySummary"] for h in history if h["HistoryItemType"] == "Action")
    assert ct.get_trail_status(Name=trail).get("LatestCloudWatchLogsDeliveryError") is None

    # No new breach: back to OK one period later.
    manual_server.advance(120)
    assert cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "OK"


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
    ct.create_trail(Name=f"cis31-{uid}", S3BucketName="b", CloudWatchLogsLogGroupArn=arn,
                    CloudWatchLogsRoleArn="arn:aws:iam::000000000000:role/CloudTrail_CloudWatchLogs_Role")
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
