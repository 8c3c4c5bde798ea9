"""CloudWatch metrics and alarms through boto3 and the aws CLI (JSON 1.0 with
x-amzn-query-mode), raw query requests and rpc-v2-cbor, with the manual clock driving
alarm evaluation.

Tests on the shared manual_server each use a region of their own, so metrics and
alarms of one test never feed another's evaluation."""

import datetime
import json
import uuid
import xml.etree.ElementTree as ET

import cbor2
import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
XMLNS = "{http://monitoring.amazonaws.com/doc/2010-08-01/}"

# The seed's CIS 3.1-3.14 alarms (AWS::CloudWatch::Alarm properties), verbatim except
# that !Sub 'Warning-${AWS::StackName}-...' is resolved with the stack name below.
CIS_ALARMS = [
    ("Warning", "CloudTrail-Unauthorized-API-Calls", "UnauthorizedAPICalls", {"DatapointsToAlarm": 6, "EvaluationPeriods": 60}),
    ("Warning", "CloudTrail-Login-Without-MFA", "LoginWithoutMFA", {}),
    ("Warning", "CloudTrail-For-RootAcount", "ForRootAcount", {}),
    ("Warning", "CloudTrail-IamPolicy-Changes", "IamPolicyChanges", {}),
    ("Warning", "CloudTrail-CloudTrailConfiguration-Changes", "CloudTrailConfigurationChanges", {}),
    ("Warning", "CloudTrail-AuthenticationFailures-Detected", "AuthenticationFailuresDetected", {}),
    ("Warning", "CloudTrail-CustomerCreatedCMKs-Changes", "CustomerCreatedCMKsChanges", {}),
    ("Notice", "CloudTrail-S3BucketPolicy-Changes", "S3BucketPolicyChanges", {}),
    ("Warning", "CloudTrail-ConfigConfiguration-Changes", "ConfigConfigurationChanges", {}),
    ("Warning", "CloudTrail-SecurityGroup-Changes", "SecurityGroupChanges", {}),
    ("Notice", "CloudTrail-NACL-Changes", "NACLChanges", {}),
    ("Notice", "CloudTrail-NetworkGateway-Changes", "NetworkGatewayChanges", {}),
    ("Notice", "CloudTrail-RouteTable-Changes", "RouteTableChanges", {}),
    ("Notice", "CloudTrail-Vpc-Changes", "VpcChanges", {}),
]


def cis_alarm(stack, level, suffix, metric, extra, topic):
    props = {
        "ActionsEnabled": True,
        "AlarmActions": [topic],
        "AlarmDescription": "*CloudTrail* alarm from the seed",
        "AlarmName": f"{level}-{stack}-{suffix}",
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "MetricName": metric,
        "Namespace": "LogMetrics",
        "OKActions": [topic],
        "Period": 60,
        "Statistic": "Maximum",
        "Threshold": 1,
        "TreatMissingData": "notBreaching",
    }
    props.update(extra)
    return props


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def state(cw, name):
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def history(cw, name, kind):
    items = cw.describe_alarm_history(AlarmName=name, HistoryItemType=kind)["AlarmHistoryItems"]
    return [i["HistorySummary"] for i in items]


def test_statistics_percentiles_and_units(server):
    cw = server.client("cloudwatch")
    ns = unique("App")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "Timestamp": now,
         "Values": [1, 2, 3, 4, 10], "Counts": [1, 1, 1, 1, 1], "Unit": "Milliseconds"},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "Timestamp": now,
         "Value": 5, "Unit": "Milliseconds"},
    ])
    got = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "get"}],
        StartTime=now - datetime.timedelta(minutes=5), EndTime=now + datetime.timedelta(minutes=5),
        Period=60, Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    assert len(got["Datapoints"]) == 1
    dp = got["Datapoints"][0]
    assert (dp["SampleCount"], dp["Sum"], dp["Average"], dp["Minimum"], dp["Maximum"]) == (6, 25, 25 / 6, 1, 10)
    assert dp["Unit"] == "Milliseconds" and dp["Timestamp"] == now
    got = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "get"}],
        StartTime=now, EndTime=now + datetime.timedelta(minutes=1), Period=60, ExtendedStatistics=["p50", "p100"])
    assert got["Datapoints"][0]["ExtendedStatistics"] == {"p50": 3.0, "p100": 10.0}
    # Another unit selects nothing; no dimensions is another metric.
    got = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "get"}],
                                   StartTime=now, EndTime=now + datetime.timedelta(minutes=1), Period=60,
                                   Statistics=["Sum"], Unit="Seconds")
    assert got["Datapoints"] == []
    got = cw.get_metric_statistics(Namespace=ns, MetricName="Latency", StartTime=now,
                                   EndTime=now + datetime.timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert got["Datapoints"] == []
    # 1,000 datums: botocore gzips this body (requestcompression), the server inflates it.
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Bulk", "Timestamp": now, "Value": i}
                                                 for i in range(1000)])
    got = cw.get_metric_statistics(Namespace=ns, MetricName="Bulk", StartTime=now,
                                   EndTime=now + datetime.timedelta(minutes=1), Period=60,
                                   Statistics=["SampleCount", "Sum"])
    assert (got["Datapoints"][0]["SampleCount"], got["Datapoints"][0]["Sum"]) == (1000, 499500)
    # Statistic sets have no percentiles.
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Set", "Timestamp": now, "StatisticValues": {
        "SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4}}])
    got = cw.get_metric_statistics(Namespace=ns, MetricName="Set", StartTime=now, EndTime=now + datetime.timedelta(minutes=1),
                                   Period=60, ExtendedStatistics=["p50"])
    assert "ExtendedStatistics" not in got["Datapoints"][0]


def test_list_metrics_filters_via_boto3_and_cli(server):
    cw = server.client("cloudwatch")
    ns = unique("List")
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "A", "Value": 1, "Dimensions": [{"Name": "Host", "Value": "h1"}]},
        {"MetricName": "A", "Value": 1, "Dimensions": [{"Name": "Host", "Value": "h2"}]},
        {"MetricName": "B", "Value": 1},
    ])
    got = cw.list_metrics(Namespace=ns)["Metrics"]
    assert sorted((m["MetricName"], tuple(d["Value"] for d in m["Dimensions"])) for m in got) == [
        ("A", ("h1",)), ("A", ("h2",)), ("B", ())]
    assert len(cw.list_metrics(Namespace=ns, MetricName="A")["Metrics"]) == 2
    assert len(cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "h2"}])["Metrics"]) == 1
    assert len(cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host"}])["Metrics"]) == 2
    assert len(cw.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]) == 3
    cli = server.aws("cloudwatch", "list-metrics", "--namespace", ns, "--metric-name", "B")
    assert cli["Metrics"] == [{"Namespace": ns, "MetricName": "B", "Dimensions": []}]


def test_query_protocol(server):
    ns = unique("Query")
    body = (f"Action=PutMetricData&Version=2010-08-01&Namespace={ns}"
            "&MetricData.member.1.MetricName=Q&MetricData.member.1.Value=2"
            "&MetricData.member.1.Dimensions.member.1.Name=D&MetricData.member.1.Dimensions.member.1.Value=v")
    headers = {"content-type": "application/x-www-form-urlencoded"}
    status, _, data = server.request("POST", "/", body, headers, service="monitoring")
    assert status == 200, data
    status, _, data = server.request("POST", "/", f"Action=ListMetrics&Version=2010-08-01&Namespace={ns}",
                                     headers, service="monitoring")
    assert status == 200, data
    root = ET.fromstring(data)
    assert root.tag == f"{XMLNS}ListMetricsResponse"
    names = [e.text for e in root.iter(f"{XMLNS}MetricName")]
    assert names == ["Q"]
    assert [e.text for e in root.iter(f"{XMLNS}Value")] == ["v"]
    # An alarm created and read back over query.
    alarm = unique("q")
    body = (f"Action=PutMetricAlarm&Version=2010-08-01&AlarmName={alarm}&Namespace={ns}&MetricName=Q"
            "&Statistic=Sum&Period=60&EvaluationPeriods=1&Threshold=1&ComparisonOperator=GreaterThanThreshold"
            "&Dimensions.member.1.Name=D&Dimensions.member.1.Value=v")
    status, _, data = server.request("POST", "/", body, headers, service="monitoring")
    assert status == 200, data
    status, _, data = server.request("POST", "/", f"Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1={alarm}",
                                     headers, service="monitoring")
    assert status == 200, data
    member = ET.fromstring(data).find(f"{XMLNS}DescribeAlarmsResult/{XMLNS}MetricAlarms/{XMLNS}member")
    assert member.find(f"{XMLNS}StateValue").text == "INSUFFICIENT_DATA"
    assert member.find(f"{XMLNS}Threshold").text in ("1", "1.0")
    assert member.find(f"{XMLNS}StateUpdatedTimestamp").text.endswith("Z")
    # Errors in the query shape, with the query code.
    status, _, data = server.request("POST", "/", "Action=PutMetricData&Version=2010-08-01&Namespace=AWS/EC2"
                                     "&MetricData.member.1.MetricName=Q&MetricData.member.1.Value=2",
                                     headers, service="monitoring")
    assert status == 400
    err = ET.fromstring(data)
    assert err.find(f"{XMLNS}Error/{XMLNS}Code").text == "InvalidParameterValue"
    assert "AWS/EC2" in err.find(f"{XMLNS}Error/{XMLNS}Message").text


def cbor_call(server, op, payload):
    headers = {"smithy-protocol": "rpc-v2-cbor", "content-type": "application/cbor", "accept": "application/cbor"}
    status, _, data = server.request("POST", f"/service/GraniteServiceVersion20100801/operation/{op}",
                                     cbor2.dumps(payload), headers, service="monitoring")
    return status, (cbor2.loads(data) if data else None)


def test_rpc_v2_cbor(server):
    ns = unique("Cbor")
    now = int(datetime.datetime.now(datetime.timezone.utc).timestamp()) // 60 * 60
    status, body = cbor_call(server, "PutMetricData", {"Namespace": ns, "MetricData": [
        {"MetricName": "C", "Value": 4.0, "Timestamp": cbor2.CBORTag(1, now)},
        {"MetricName": "C", "Value": 6.0, "Timestamp": cbor2.CBORTag(1, now)}]})
    assert status == 200, body
    status, body = cbor_call(server, "GetMetricStatistics", {
        "Namespace": ns, "MetricName": "C", "StartTime": cbor2.CBORTag(1, now - 60),
        "EndTime": cbor2.CBORTag(1, now + 60), "Period": 60, "Statistics": ["Average", "Sum"]})
    assert status == 200, body
    [dp] = body["Datapoints"]
    assert (dp["Average"], dp["Sum"]) == (5.0, 10.0)
    status, body = cbor_call(server, "ListMetrics", {"Namespace": ns})
    assert status == 200 and [m["MetricName"] for m in body["Metrics"]] == ["C"]
    alarm = unique("cbor")
    status, body = cbor_call(server, "PutMetricAlarm", {
        "AlarmName": alarm, "Namespace": ns, "MetricName": "C", "Statistic": "Sum", "Period": 60,
        "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"})
    assert status == 200, body
    status, body = cbor_call(server, "DescribeAlarms", {"AlarmNames": [alarm]})
    assert status == 200, body
    [got] = body["MetricAlarms"]
    assert got["StateValue"] == "INSUFFICIENT_DATA" and got["Period"] == 60
    assert isinstance(got["StateUpdatedTimestamp"], (cbor2.CBORTag, datetime.datetime, int, float))
    status, body = cbor_call(server, "PutMetricData", {"Namespace": ns, "MetricData": []})
    assert status == 400
    assert "MissingRequiredParameterException" in body["__type"] or "MissingParameter" in body["__type"]


def test_bad_input_gets_aws_errors(server):
    cw = server.client("cloudwatch")
    ns = unique("Bad")

    def code(call, **kw):
        with pytest.raises(ClientError) as exc:
            call(**kw)
        return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]

    c, m = code(cw.put_metric_data, Namespace="AWS/EC2", MetricData=[{"MetricName": "m", "Value": 1}])
    assert (c, m) == ("InvalidParameterValue", "The value AWS/EC2 for parameter Namespace is invalid.")
    c, m = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1} for _ in range(1001)])
    assert (c, m) == ("InvalidParameterValue", "The collection MetricData must not have a size greater than 1000.")
    c, _ = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "StatisticValues": {
        "SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    assert c == "InvalidParameterCombination"
    c, _ = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Value": 2.0 ** 400}])
    assert c == "InvalidParameterValue"
    c, _ = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Values": [1, 2], "Counts": [1]}])
    assert c == "InvalidParameterValue"
    c, _ = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "StorageResolution": 5}])
    assert c == "InvalidParameterValue"
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    c, _ = code(cw.put_metric_data, Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1, "Dimensions": dims}])
    assert c in ("InvalidParameterValue", "ValidationError")
    base = {"AlarmName": unique("bad"), "MetricName": "m", "Namespace": ns, "Period": 60, "Statistic": "Sum",
            "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}
    for change, want in [
        ({"Period": 45}, "InvalidParameterValue"),
        ({"ExtendedStatistic": "p90"}, "InvalidParameterCombination"),
        ({"Statistic": None, "ExtendedStatistic": "tm90"}, "InvalidParameterValue"),
        ({"Statistic": None, "ExtendedStatistic": "p101"}, "InvalidParameterValue"),
        ({"Statistic": None}, "MissingParameter"),
        ({"EvaluationPeriods": 1441}, "InvalidParameterValue"),
        ({"DatapointsToAlarm": 2}, "ValidationError"),
        ({"TreatMissingData": "sometimes"}, "InvalidParameterValue"),
        ({"ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold"}, "ValidationError"),
        ({"Metrics": [{"Id": "m1", "Expression": "SUM(METRICS())"}]}, "InvalidParameterCombination"),
    ]:
        kw = {k: v for k, v in {**base, **change}.items() if v is not None}
        c, m = code(cw.put_metric_alarm, **kw)
        assert c == want, (change, c, m)
    now = datetime.datetime.now(datetime.timezone.utc)
    c, _ = code(cw.get_metric_statistics, Namespace=ns, MetricName="m", StartTime=now, EndTime=now, Period=60,
                Statistics=["Sum"])
    assert c == "InvalidParameterValue"
    c, _ = code(cw.get_metric_statistics, Namespace=ns, MetricName="m", StartTime=now - datetime.timedelta(days=2),
                EndTime=now, Period=60, Statistics=["Sum"])
    assert c == "InvalidParameterCombination"
    c, _ = code(cw.get_metric_statistics, Namespace=ns, MetricName="m", StartTime=now - datetime.timedelta(hours=1),
                EndTime=now, Period=60, Statistics=["Sum"], ExtendedStatistics=["p90"])
    assert c == "InvalidParameterCombination"
    c, _ = code(cw.set_alarm_state, AlarmName=unique("nope"), StateValue="OK", StateReason="x")
    assert c == "ResourceNotFound"


def test_cis_alarms_verbatim(manual_server):
    region = "ap-northeast-1"
    cw = manual_server.client("cloudwatch", region_name=region)
    stack = unique("cis")
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:{stack}-alerts"
    names = {}
    for level, suffix, metric, extra in CIS_ALARMS:
        props = cis_alarm(stack, level, suffix, metric, extra, topic)
        cw.put_metric_alarm(**props)
        names[metric] = props["AlarmName"]
    alarms = cw.describe_alarms(AlarmNamePrefix=f"Warning-{stack}-")["MetricAlarms"]
    assert len(alarms) == 9
    login = state(cw, names["LoginWithoutMFA"])
    assert login["StateValue"] == "INSUFFICIENT_DATA"
    assert login["StateReason"] == "Unchecked: Initial alarm creation"
    assert login["AlarmArn"] == f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{names['LoginWithoutMFA']}"
    assert login["OKActions"] == [topic] and login["TreatMissingData"] == "notBreaching"

    # No data, missing treated as notBreaching: every alarm goes to OK at the next minute.
    manual_server.advance(60)
    for name in names.values():
        assert state(cw, name)["StateValue"] == "OK", name

    # One matching event: ALARM within one period, OK again one period later.
    cw.put_metric_data(Namespace="LogMetrics", MetricData=[{"MetricName": "LoginWithoutMFA", "Value": 1}])
    manual_server.advance(60)
    login = state(cw, names["LoginWithoutMFA"])
    assert login["StateValue"] == "ALARM"
    assert login["StateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [1.0 (")
    assert login["StateReason"].endswith(
        "was greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).")
    reason_data = json.loads(login["StateReasonData"])
    assert reason_data["statistic"] == "Maximum" and reason_data["recentDatapoints"] == [1.0]
    assert login["StateTransitionedTimestamp"] == login["StateUpdatedTimestamp"]
    assert state(cw, names["ForRootAcount"])["StateValue"] == "OK"
    manual_server.advance(60)
    login = state(cw, names["LoginWithoutMFA"])
    assert login["StateValue"] == "OK"
    assert login["StateReason"] == ("Threshold Crossed: no datapoints were received for 1 period and "
                                    "1 missing datapoint was treated as [NonBreaching].")

    # History has each transition, newest first, and each SNS action attempt.
    assert history(cw, names["LoginWithoutMFA"], "StateUpdate") == [
        "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM",
        "Alarm updated from INSUFFICIENT_DATA to OK"]
    actions = history(cw, names["LoginWithoutMFA"], "Action")
    assert len(actions) == 3
    assert all(a in (f"Failed to execute action {topic}", f"Successfully executed action {topic}") for a in actions)
    item = cw.describe_alarm_history(AlarmName=names["LoginWithoutMFA"], HistoryItemType="StateUpdate",
                                     ScanBy="TimestampAscending")["AlarmHistoryItems"][1]
    data = json.loads(item["HistoryData"])
    assert data["oldState"]["stateValue"] == "OK" and data["newState"]["stateValue"] == "ALARM"

    # CIS 3.1: 6 of 60 one-minute Maximum points must breach.
    unauthorized = names["UnauthorizedAPICalls"]
    for minute in range(1, 7):
        cw.put_metric_data(Namespace="LogMetrics", MetricData=[{"MetricName": "UnauthorizedAPICalls", "Value": 1}])
        manual_server.advance(60)
        want = "ALARM" if minute == 6 else "OK"
        assert state(cw, unauthorized)["StateValue"] == want, minute
    assert "6 out of the last 60 datapoints" in state(cw, unauthorized)["StateReason"]
    # Six breaching minutes keep it in ALARM for the rest of the hour.
    manual_server.advance(600)
    assert state(cw, unauthorized)["StateValue"] == "ALARM"


def test_missing_data_and_set_alarm_state_via_cli(manual_server):
    region = "eu-west-1"
    cw = manual_server.client("cloudwatch", region_name=region)
    name = unique("cli")
    env = {"AWS_DEFAULT_REGION": region}
    manual_server.aws("cloudwatch", "put-metric-alarm", "--alarm-name", name, "--namespace", "Cli",
                      "--metric-name", "Errors", "--statistic", "Sum", "--period", "60", "--evaluation-periods", "3",
                      "--datapoints-to-alarm", "2", "--threshold", "5", "--comparison-operator",
                      "GreaterThanThreshold", env=env)
    manual_server.advance(60)
    # TreatMissingData missing, no data: stays INSUFFICIENT_DATA.
    got = manual_server.aws("cloudwatch", "describe-alarms", "--alarm-names", name, env=env)["MetricAlarms"][0]
    assert got["StateValue"] == "INSUFFICIENT_DATA"
    assert got["StateReason"] == "Unchecked: Initial alarm creation"
    for _ in range(2):
        cw.put_metric_data(Namespace="Cli", MetricData=[{"MetricName": "Errors", "Value": 9}])
        manual_server.advance(60)
    assert state(cw, name)["StateValue"] == "ALARM"
    manual_server.aws("cloudwatch", "set-alarm-state", "--alarm-name", name, "--state-value", "OK",
                      "--state-reason", "testing", env=env)
    got = state(cw, name)
    assert (got["StateValue"], got["StateReason"]) == ("OK", "testing")
    # The next evaluation restores the real state.
    manual_server.advance(60)
    assert state(cw, name)["StateValue"] == "ALARM"
    hist = manual_server.aws("cloudwatch", "describe-alarm-history", "--alarm-name", name,
                             "--history-item-type", "StateUpdate", env=env)["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in hist] == [
        "Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK",
        "Alarm updated from INSUFFICIENT_DATA to ALARM"]


def test_alarm_management(manual_server):
    region = "us-west-2"
    cw = manual_server.client("cloudwatch", region_name=region)
    name = unique("mgmt")
    dims = [{"Name": "Host", "Value": "h1"}]
    cw.put_metric_alarm(AlarmName=name, Namespace="Mgmt", MetricName="Cpu", Dimensions=dims, Statistic="Average",
                        Period=300, EvaluationPeriods=2, Threshold=80, ComparisonOperator="GreaterThanThreshold",
                        AlarmActions=["arn:aws:sns:us-west-2:000000000000:ops"], Tags=[{"Key": "team", "Value": "sec"}])
    created = state(cw, name)
    arn = created["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "sec"}]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    found = cw.describe_alarms_for_metric(Namespace="Mgmt", MetricName="Cpu", Dimensions=dims)["MetricAlarms"]
    assert [a["AlarmName"] for a in found] == [name]
    assert cw.describe_alarms_for_metric(Namespace="Mgmt", MetricName="Cpu")["MetricAlarms"][0]["AlarmName"] == name
    assert cw.describe_alarms_for_metric(Namespace="Mgmt", MetricName="Cpu", Period=60)["MetricAlarms"] == []
    assert [a["AlarmName"] for a in cw.describe_alarms(ActionPrefix="arn:aws:sns:us-west-2")["MetricAlarms"]] == [name]
    assert cw.describe_alarms(AlarmNames=[name], StateValue="ALARM")["MetricAlarms"] == []
    cw.disable_alarm_actions(AlarmNames=[name])
    assert state(cw, name)["ActionsEnabled"] is False
    cw.enable_alarm_actions(AlarmNames=[name])
    assert state(cw, name)["ActionsEnabled"] is True
    # Updating keeps the state and the creation-time tags; configuration changes show up.
    manual_server.advance(60)
    cw.put_metric_alarm(AlarmName=name, Namespace="Mgmt", MetricName="Cpu", Dimensions=dims, Statistic="Average",
                        Period=300, EvaluationPeriods=2, Threshold=90, ComparisonOperator="GreaterThanThreshold",
                        Tags=[{"Key": "ignored", "Value": "x"}])
    updated = state(cw, name)
    assert updated["Threshold"] == 90 and updated["StateValue"] == created["StateValue"]
    assert updated["AlarmConfigurationUpdatedTimestamp"] > created["AlarmConfigurationUpdatedTimestamp"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert history(cw, name, "ConfigurationUpdate")[-1] == f'Alarm "{name}" created'
    # An unknown name is reported, and the alarm named correctly is still deleted (AWS's
    # DeleteAlarms reference).
    absent = unique("absent")
    with pytest.raises(ClientError) as exc:
        cw.delete_alarms(AlarmNames=[name, absent])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    assert absent in exc.value.response["Error"]["Message"]
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    # History outlives the alarm.
    assert history(cw, name, "ConfigurationUpdate")[0] == f'Alarm "{name}" deleted'
    with pytest.raises(ClientError) as exc:
        cw.list_tags_for_resource(ResourceARN=arn)
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_logs_service_may_use_aws_namespaces_and_high_resolution_alarms(manual_server):
    region = "eu-central-1"
    cw = manual_server.client("cloudwatch", region_name=region)
    name = unique("hires")
    cw.put_metric_alarm(AlarmName=name, Namespace="HiRes", MetricName="Hits", Statistic="Sum", Period=10,
                        EvaluationPeriods=1, Threshold=3, ComparisonOperator="GreaterThanOrEqualToThreshold",
                        TreatMissingData="notBreaching")
    manual_server.advance(10)
    assert state(cw, name)["StateValue"] == "OK"
    cw.put_metric_data(Namespace="HiRes", MetricData=[{"MetricName": "Hits", "Value": 1, "StorageResolution": 1}
                                                      for _ in range(3)])
    manual_server.advance(10)
    assert state(cw, name)["StateValue"] == "ALARM"
    manual_server.advance(10)
    assert state(cw, name)["StateValue"] == "OK"


def test_datapoints_and_alarms_survive_a_crash(fresh_server):
    cw = fresh_server.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace="Durable", MetricData=[{"MetricName": "M", "Value": 7, "Timestamp": now}])
    cw.put_metric_alarm(AlarmName="durable", Namespace="Durable", MetricName="M", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    fresh_server.restart()
    cw = fresh_server.client("cloudwatch")
    got = cw.get_metric_statistics(Namespace="Durable", MetricName="M", StartTime=now,
                                   EndTime=now + datetime.timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert got["Datapoints"][0]["Sum"] == 7
    assert state(cw, "durable")["Threshold"] == 1


def test_get_metric_data_with_math_and_pages(server):
    cw = server.client("cloudwatch")
    ns = unique("Data")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    for i in range(3):
        ts = now - datetime.timedelta(minutes=i)
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Errors", "Value": i + 1, "Timestamp": ts},
            {"MetricName": "Requests", "Value": 10 * (i + 1), "Timestamp": ts}])

    def stat(qid, name):
        return {"Id": qid, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": name}, "Period": 60, "Stat": "Sum"}}

    queries = [stat("e", "Errors"), stat("r", "Requests"),
               {"Id": "rate", "Expression": "100 * e / r", "Label": "ErrorRate"},
               {"Id": "total", "Expression": "SUM(METRICS())"}]
    got = cw.get_metric_data(MetricDataQueries=queries, StartTime=now - datetime.timedelta(minutes=10),
                             EndTime=now + datetime.timedelta(minutes=1), ScanBy="TimestampAscending")
    results = {r["Id"]: r for r in got["MetricDataResults"]}
    assert set(results) == {"rate", "total"}
    assert results["rate"]["Label"] == "ErrorRate" and results["rate"]["Values"] == [10.0, 10.0, 10.0]
    assert results["total"]["Values"] == [33.0, 22.0, 11.0]
    assert results["total"]["Timestamps"][-1] == now
    # Pagination through boto3's paginator.
    pages = list(cw.get_paginator("get_metric_data").paginate(
        MetricDataQueries=[stat("e", "Errors") | {"ReturnData": True}], StartTime=now - datetime.timedelta(minutes=10),
        EndTime=now + datetime.timedelta(minutes=1), PaginationConfig={"PageSize": 2}))
    values = [v for p in pages for r in p["MetricDataResults"] for v in r["Values"]]
    assert values == [1.0, 2.0, 3.0]
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=[{"Id": "x", "Expression": "FILL(e, 0)"}, stat("e", "Errors")],
                           StartTime=now - datetime.timedelta(minutes=10), EndTime=now)
    assert exc.value.response["Error"]["Code"] == "ValidationError"
    # Metric math alarms: exactly one query returns data, all on one period.
    alarm = unique("math")
    for metrics, want in [
        ([stat("e", "Errors") | {"ReturnData": True}, {"Id": "x", "Expression": "e * 2"}],
         "Exactly one element of the metrics list should return data."),
        ([stat("e", "Errors"), {"Id": "y", "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": "Requests"}, "Period": 300, "Stat": "Sum"}},
          {"Id": "x", "Expression": "e / y"}], "All metrics in a metric math alarm must have the same period."),
    ]:
        with pytest.raises(ClientError) as exc:
            cw.put_metric_alarm(AlarmName=alarm, Metrics=metrics, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
        assert exc.value.response["Error"]["Code"] == "ValidationError"
        assert exc.value.response["Error"]["Message"] == want
    cw.put_metric_alarm(AlarmName=alarm, Metrics=queries[:3], EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold")
    got = state(cw, alarm)
    assert [m["Id"] for m in got["Metrics"]] == ["e", "r", "rate"] and "Period" not in got
