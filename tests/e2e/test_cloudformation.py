"""CloudFormation end to end: the seed's CIS stack through boto3 and `aws cloudformation
deploy`, each resource checked through its own service's API, rollback, updates, change
sets and the ValidationError cases of bad templates."""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates" / "mamori-template" / "tests" / "fixtures"
CIS = (FIXTURES / "cis.yaml").read_text()
ACCOUNT = "000000000000"
TERMINAL = ("COMPLETE", "FAILED")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait(cfn, name, timeout=30):
    """Polls DescribeStacks until the stack leaves *_IN_PROGRESS; returns the stack."""
    deadline = time.time() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or status == "REVIEW_IN_PROGRESS":
            return stack
        assert time.time() < deadline, f"stack {name} still {status}"
        time.sleep(0.05)


def events(cfn, name):
    return cfn.describe_stack_events(StackName=name)["StackEvents"]


def cis_parameters(stack, logs_bucket, region="us-east-1"):
    topic = f"{stack}-system-notifications"
    return [
        {"ParameterKey": "SnsTopicARN", "ParameterValue": f"arn:aws:sns:{region}:{ACCOUNT}:{topic}"},
        {"ParameterKey": "SnsTopicName", "ParameterValue": topic},
        {"ParameterKey": "LogBacketName", "ParameterValue": logs_bucket},
    ]


def code(exc):
    return exc.value.response["Error"]["Code"]


def message(exc):
    return exc.value.response["Error"]["Message"]


# --- the seed's CIS stack -------------------------------------------------------------

def test_cis_fixture_deploys_every_resource_and_delete_keeps_only_the_retained_bucket(server):
    cfn, s3 = server.client("cloudformation"), server.client("s3")
    logs, cw, sns, iam, ct = (server.client(s) for s in ("logs", "cloudwatch", "sns", "iam", "cloudtrail"))
    stack = unique("cis")
    logs_bucket = unique("access-logs")
    s3.create_bucket(Bucket=logs_bucket)
    stack_id = cfn.create_stack(StackName=stack, TemplateBody=CIS, Parameters=cis_parameters(stack, logs_bucket),
                                Capabilities=["CAPABILITY_NAMED_IAM"])["StackId"]
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{stack}/")
    got = wait(cfn, stack)
    assert got["StackStatus"] == "CREATE_COMPLETE", events(cfn, stack)[:5]
    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    assert len(resources) == 35
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

    # Logs: the group with its retention, and the 14 filters on it.
    group = f"/aws/cloudtrail/{stack}"
    [lg] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert lg["retentionInDays"] == 365
    assert physical["CloudWatchLogsGroupForCloudTrail"] == group
    filters = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert len(filters) == 14
    root = [f for f in filters if f["metricTransformations"][0]["metricName"] == "ForRootAcount"]
    assert root[0]["filterPattern"].startswith('{$.userIdentity.type="Root"')
    assert root[0]["metricTransformations"][0] == {"metricName": "ForRootAcount", "metricNamespace": "LogMetrics", "metricValue": "1"}

    # CloudWatch: 14 alarms that notify the topic.
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:{stack}-system-notifications"
    alarms = [a for a in cw.describe_alarms()["MetricAlarms"] if f"-{stack}-CloudTrail-" in a["AlarmName"]]
    assert len(alarms) == 14
    unauth = next(a for a in alarms if a["MetricName"] == "UnauthorizedAPICalls")
    assert (unauth["EvaluationPeriods"], unauth["DatapointsToAlarm"], unauth["Threshold"]) == (60, 6, 1.0)
    assert unauth["AlarmActions"] == [topic_arn] and unauth["OKActions"] == [topic_arn]
    assert unauth["TreatMissingData"] == "notBreaching"

    # SNS: the topic (Ref is its ARN) and the policy on it.
    assert physical["SNSAlert"] == topic_arn
    attrs = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
    assert attrs["DisplayName"] == f"System Notifications from {stack}"
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"][0]["Action"] == "SNS:Publish"

    # IAM: the role, its trust policy given as an object, its inline policy.
    role_name = f"{stack}-CloudTrail-us-east-1"
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    inline = iam.get_role_policy(RoleName=role_name, PolicyName=f"{stack}-AWSCloudTrailCloudWatchLogsPolicy-us-east-1")
    assert inline["PolicyDocument"]["Statement"][0]["Resource"] == [lg["arn"]]

    # CloudTrail: the trail, delivering to the group with the role, notifying the topic.
    [trail] = ct.describe_trails(trailNameList=[stack])["trailList"]
    assert trail["CloudWatchLogsLogGroupArn"] == lg["arn"]
    assert trail["CloudWatchLogsRoleArn"] == role["Arn"]
    assert trail["SnsTopicARN"] == topic_arn
    assert trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    assert ct.get_trail_status(Name=stack)["IsLogging"]

    # S3: the bucket's configurations and its policy.
    bucket = f"defaultsecuritysettings-cloudtrail-us-east-1-{ACCOUNT}"
    assert physical["S3ForCloudTrail"] == bucket
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert (rule["ID"], rule["Expiration"]["Days"], rule["Status"]) == ("ExpirationInDays", 60, "Enabled")
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {"TargetBucket": logs_bucket, "TargetPrefix": "CloudTrail/"}
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values()) and len(pab) == 4
    bucket_policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert bucket_policy["Statement"][1]["Resource"] == [f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*"]

    # Events: newest first, two per resource plus the stack's own two.
    evs = events(cfn, stack)
    assert evs[0]["LogicalResourceId"] == stack and evs[0]["ResourceStatus"] == "CREATE_COMPLETE"
    assert evs[-1]["ResourceStatus"] == "CREATE_IN_PROGRESS" and evs[-1]["ResourceStatusReason"] == "User Initiated"
    assert len(evs) == 2 * 35 + 2

    cfn.delete_stack(StackName=stack)
    deadline = time.time() + 30
    while cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_IN_PROGRESS":
        assert time.time() < deadline
        time.sleep(0.05)
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError) as exc:
        cfn.describe_stacks(StackName=stack)
    assert code(exc) == "ValidationError" and message(exc) == f"Stack with id {stack} does not exist"
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    assert not [a for a in cw.describe_alarms()["MetricAlarms"] if f"-{stack}-CloudTrail-" in a["AlarmName"]]
    assert topic_arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    with pytest.raises(ClientError):
        iam.get_role(RoleName=role_name)
    assert ct.describe_trails(trailNameList=[stack])["trailList"] == []
    # DeletionPolicy: Retain keeps the bucket, with its policy.
    s3.head_bucket(Bucket=bucket)
    skipped = [e for e in events(cfn, stack_id) if e["ResourceStatus"] == "DELETE_SKIPPED"]
    assert [e["LogicalResourceId"] for e in skipped] == ["S3ForCloudTrail"]


def test_cis_fixture_deploys_with_aws_cloudformation_deploy(server, tmp_path):
    region = "us-west-2"
    env = {"AWS_DEFAULT_REGION": region}
    stack = unique("cisdeploy")
    logs_bucket = unique("deploy-logs")
    server.aws("s3api", "create-bucket", "--bucket", logs_bucket, "--create-bucket-configuration",
               f"LocationConstraint={region}", env=env)
    template = tmp_path / "cis.yaml"
    template.write_text(CIS)
    topic = f"{stack}-system-notifications"
    args = ["cloudformation", "deploy", "--template-file", str(template), "--stack-name", stack,
            "--capabilities", "CAPABILITY_NAMED_IAM", "--parameter-overrides",
            f"SnsTopicARN=arn:aws:sns:{region}:{ACCOUNT}:{topic}", f"SnsTopicName={topic}",
            f"LogBacketName={logs_bucket}"]
    proc = server.aws(*args, check=False, env=env)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert f"Successfully created/updated stack - {stack}" in proc.stdout
    got = server.aws("cloudformation", "describe-stacks", "--stack-name", stack, env=env)["Stacks"][0]
    assert got["StackStatus"] == "CREATE_COMPLETE"
    assert got["ChangeSetId"].startswith(f"arn:aws:cloudformation:{region}:{ACCOUNT}:changeSet/")
    alarms = server.aws("cloudwatch", "describe-alarms", env=env)["MetricAlarms"]
    assert len([a for a in alarms if f"-{stack}-CloudTrail-" in a["AlarmName"]]) == 14
    # Deploying the same template again is an empty change set.
    again = server.aws(*args, "--no-fail-on-empty-changeset", check=False, env=env)
    assert again.returncode == 0, again.stderr
    assert "No changes to deploy" in again.stdout
    server.aws("cloudformation", "delete-stack", "--stack-name", stack, env=env)
    server.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", stack, env=env)
    groups = server.aws("logs", "describe-log-groups", "--log-group-name-prefix", f"/aws/cloudtrail/{stack}", env=env)
    assert groups["logGroups"] == []


def test_stack_calls_are_recorded_as_invoked_by_cloudformation(server):
    cfn, ct = server.client("cloudformation"), server.client("cloudtrail")
    stack = unique("trailseen")
    body = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": stack}}}})
    cfn.create_stack(StackName=stack, TemplateBody=body)
    assert wait(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    deadline = time.time() + 10
    while True:
        evs = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateTopic"}])["Events"]
        mine = [json.loads(e["CloudTrailEvent"]) for e in evs if stack in e["CloudTrailEvent"]]
        if mine or time.time() > deadline:
            break
        time.sleep(0.1)
    assert mine, "CreateTopic of the stack not in event history"
    record = mine[0]
    assert record["userIdentity"]["invokedBy"] == "cloudformation.amazonaws.com"
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert record["sourceIPAddress"] == "cloudformation.amazonaws.com"


# --- bad input -------------------------------------------------------------------------

BAD_TEMPLATES = [
    # (case, body, parameters, expected message fragment)
    ("malformed yaml", "Resources:\n  A: {Type: AWS::SNS::Topic\n", [], "Template format error: YAML not well-formed."),
    ("malformed json", '{"Resources": {"A": {"Type": "AWS::SNS::Topic"}', [], "Template format error: JSON not well-formed."),
    ("unknown intrinsic", "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: {'Fn::Nope': x}\n", [],
     "Encountered unsupported function: Fn::Nope"),
    ("bad parameter value", "Parameters:\n  Env: {Type: String, AllowedValues: [dev, prod]}\nResources:\n  A: {Type: AWS::SNS::Topic}\n",
     [{"ParameterKey": "Env", "ParameterValue": "test"}], "Parameter 'Env' must be one of AllowedValues"),
    ("missing parameter", "Parameters:\n  Env: {Type: String}\nResources:\n  A: {Type: AWS::SNS::Topic}\n", [],
     "Parameters: [Env] must have values"),
    ("cycle", "Resources:\n  A: {Type: AWS::SNS::Topic, DependsOn: B}\n  B: {Type: AWS::SNS::Topic, DependsOn: A}\n", [],
     "Circular dependency between resources: [A, B]"),
    ("missing reference", "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {DisplayName: !Ref Nope}\n", [],
     "Unresolved resource dependencies [Nope] in the Resources block of the template"),
    ("missing attribute", "Resources:\n  A:\n    Type: AWS::SNS::Topic\n    Properties: {DisplayName: !GetAtt B.Nope}\n  B: {Type: AWS::SNS::Topic}\n", [],
     "resource B does not support attribute type Nope in Fn::GetAtt"),
    ("oversized", "Resources:\n  A: {Type: AWS::SNS::Topic}\n" + "#" * 52000 + "\n", [],
     "Member must have length less than or equal to 51200"),
    ("seed typo", (FIXTURES / "seed_s3_block_resouces_typo.yaml").read_text(), [],
     "Invalid template property or properties [Resouces]"),
]


@pytest.mark.parametrize("case,body,params,fragment", BAD_TEMPLATES, ids=[c[0] for c in BAD_TEMPLATES])
def test_bad_templates_are_validation_errors_naming_the_place(server, case, body, params, fragment):
    cfn = server.client("cloudformation")
    stack = unique("bad")
    with pytest.raises(ClientError) as exc:
        cfn.create_stack(StackName=stack, TemplateBody=body, Parameters=params)
    assert code(exc) == "ValidationError", message(exc)
    assert fragment in message(exc), message(exc)
    if "parameter" not in case:  # ValidateTemplate takes no parameter values
        with pytest.raises(ClientError) as exc:
            cfn.validate_template(TemplateBody=body)
        assert code(exc) == "ValidationError" and fragment in message(exc), message(exc)
    # Nothing was created.
    names = [s["StackName"] for s in cfn.list_stacks()["StackSummaries"]]
    assert stack not in names


def test_failing_alarm_rolls_back_and_leaves_nothing_behind(server):
    cfn, logs, sns, cw = (server.client(s) for s in ("cloudformation", "logs", "sns", "cloudwatch"))
    stack = unique("rollback")
    body = f"""
Resources:
  Group:
    Type: AWS::Logs::LogGroup
    Properties: {{LogGroupName: /rollback/{stack}, RetentionInDays: 7}}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {{TopicName: {stack}}}
  Alarm:
    Type: AWS::CloudWatch::Alarm
    DependsOn: [Group, Topic]
    Properties:
      AlarmName: {stack}
      ComparisonOperator: BiggerThan
      EvaluationPeriods: 1
      MetricName: M
      Namespace: N
      Period: 60
      Statistic: Sum
      Threshold: 1
      AlarmActions: [!Ref Topic]
"""
    cfn.create_stack(StackName=stack, TemplateBody=body)
    got = wait(cfn, stack)
    assert got["StackStatus"] == "ROLLBACK_COMPLETE"
    assert got["StackStatusReason"].startswith("The following resource(s) failed to create: [Alarm].")
    failed = [e for e in events(cfn, stack) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Alarm"]
    assert "comparisonOperator" in failed[0]["ResourceStatusReason"], failed[0]["ResourceStatusReason"]
    statuses = {r["LogicalResourceId"]: r["ResourceStatus"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    assert statuses == {"Group": "DELETE_COMPLETE", "Topic": "DELETE_COMPLETE", "Alarm": "CREATE_FAILED"}
    assert logs.describe_log_groups(logGroupNamePrefix=f"/rollback/{stack}")["logGroups"] == []
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{stack}")]
    assert cw.describe_alarms(AlarmNames=[stack])["MetricAlarms"] == []
    # A rolled-back stack can only be deleted.
    cfn.delete_stack(StackName=stack)


def test_unsupported_type_fails_the_stack_naming_the_type(server):
    cfn = server.client("cloudformation")
    stack = unique("unsupported")
    body = "Resources:\n  Net:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: 10.0.0.0/16}\n"
    cfn.create_stack(StackName=stack, TemplateBody=body)
    got = wait(cfn, stack)
    assert got["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [e for e in events(cfn, stack) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["ResourceStatusReason"] == "Resource type AWS::EC2::VPC is not supported by mamori: no service provides it"


def test_iam_resources_need_the_capability(server):
    cfn = server.client("cloudformation")
    body = "Resources:\n  U: {Type: AWS::IAM::User, Properties: {UserName: named}}\n"
    with pytest.raises(ClientError) as exc:
        cfn.create_stack(StackName=unique("caps"), TemplateBody=body, Capabilities=["CAPABILITY_IAM"])
    assert code(exc) == "InsufficientCapabilitiesException"
    assert message(exc) == "Requires capabilities : [CAPABILITY_NAMED_IAM]"


# --- updates and change sets -------------------------------------------------------------

def test_update_modifies_in_place_replaces_adds_removes_and_rolls_back(server):
    cfn, logs, sns = (server.client(s) for s in ("cloudformation", "logs", "sns"))
    stack = unique("update")
    group = f"/update/{stack}"
    v1 = f"""
Resources:
  Group: {{Type: AWS::Logs::LogGroup, Properties: {{LogGroupName: {group}, RetentionInDays: 7}}}}
  Named: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}-a}}}}
  Gone: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}-gone}}}}
Outputs:
  TopicArn: {{Value: !Ref Named, Export: {{Name: {stack}-topic}}}}
"""
    cfn.create_stack(StackName=stack, TemplateBody=v1)
    assert wait(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    before = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    v2 = f"""
Resources:
  Group: {{Type: AWS::Logs::LogGroup, Properties: {{LogGroupName: {group}, RetentionInDays: 30}}}}
  Named: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}-b}}}}
  Filter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: !Ref Group
      FilterPattern: ERROR
      MetricTransformations: [{{MetricName: Errors, MetricNamespace: App, MetricValue: '1'}}]
Outputs:
  TopicArn: {{Value: !Ref Named, Export: {{Name: {stack}-topic}}}}
"""
    cs = cfn.create_change_set(StackName=stack, ChangeSetName="v2", TemplateBody=v2)
    described = cfn.describe_change_set(ChangeSetName=cs["Id"])
    assert described["Status"] == "CREATE_COMPLETE" and described["ExecutionStatus"] == "AVAILABLE"
    changes = {c["ResourceChange"]["LogicalResourceId"]: (c["ResourceChange"]["Action"], c["ResourceChange"].get("Replacement"))
               for c in described["Changes"]}
    assert changes == {"Group": ("Modify", "False"), "Named": ("Modify", "True"), "Filter": ("Add", None), "Gone": ("Remove", None)}
    cfn.delete_change_set(ChangeSetName=cs["Id"])
    assert cfn.list_change_sets(StackName=stack)["Summaries"] == []

    cfn.update_stack(StackName=stack, TemplateBody=v2)
    got = wait(cfn, stack)
    assert got["StackStatus"] == "UPDATE_COMPLETE", events(cfn, stack)[:4]
    after = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]}
    assert after["Group"] == before["Group"] == group
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 30
    assert after["Named"].endswith(f":{stack}-b") and before["Named"].endswith(f":{stack}-a")
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert after["Named"] in topics and before["Named"] not in topics and before["Gone"] not in topics
    assert "Gone" not in after
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group)["metricFilters"]] == [after["Filter"]]
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert exports[f"{stack}-topic"] == after["Named"]

    with pytest.raises(ClientError) as exc:
        cfn.update_stack(StackName=stack, TemplateBody=v2)
    assert code(exc) == "ValidationError" and message(exc) == "No updates are to be performed."

    # A failing update rolls back: the new topic is deleted, the retention restored.
    v3 = v2.replace("RetentionInDays: 30", "RetentionInDays: 14") + f"""
  Extra: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}-extra}}}}
  Bad:
    Type: AWS::CloudWatch::Alarm
    DependsOn: [Extra, Group]
    Properties: {{AlarmName: {stack}, ComparisonOperator: Nope, EvaluationPeriods: 1, Period: 60, Threshold: 1, MetricName: M, Namespace: N, Statistic: Sum}}
"""
    v3 = v3.replace("Outputs:\n  TopicArn: {Value: !Ref Named, Export: {Name: " + stack + "-topic}}\n", "") + \
        "Outputs:\n  TopicArn: {Value: !Ref Named, Export: {Name: " + stack + "-topic}}\n"
    cfn.update_stack(StackName=stack, TemplateBody=v3)
    got = wait(cfn, stack)
    assert got["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", events(cfn, stack)[:6]
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 30
    assert not [t for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(f":{stack}-extra")]
    assert cfn.get_template(StackName=stack)["TemplateBody"] == v2
    cfn.delete_stack(StackName=stack)
    wait(cfn, got["StackId"])


def test_change_set_creates_a_stack_that_waits_in_review(server):
    cfn = server.client("cloudformation")
    stack = unique("review")
    body = f"Resources:\n  T: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}}}}}\n"
    cs = cfn.create_change_set(StackName=stack, ChangeSetName="first", ChangeSetType="CREATE", TemplateBody=body)
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    [summary] = cfn.list_change_sets(StackName=stack)["Summaries"]
    assert summary["ChangeSetName"] == "first" and summary["Status"] == "CREATE_COMPLETE"
    assert cfn.get_template(StackName=stack, ChangeSetName="first")["TemplateBody"] == body
    cfn.execute_change_set(ChangeSetName="first", StackName=stack)
    assert wait(cfn, stack)["StackStatus"] == "CREATE_COMPLETE"
    assert cfn.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"
    with pytest.raises(ClientError) as exc:
        cfn.execute_change_set(ChangeSetName=cs["Id"])
    assert code(exc) == "InvalidChangeSetStatus"
    with pytest.raises(ClientError) as exc:
        cfn.describe_change_set(ChangeSetName="nope", StackName=stack)
    assert code(exc) == "ChangeSetNotFound"


# --- stack attributes ----------------------------------------------------------------------

def test_parameters_tags_outputs_imports_and_status_filter(server):
    cfn = server.client("cloudformation")
    base, user = unique("exporter"), unique("importer")
    body = f"""
Parameters:
  Secret: {{Type: String, NoEcho: true}}
  Name: {{Type: String, Default: plain}}
Resources:
  T: {{Type: AWS::SNS::Topic, Properties: {{DisplayName: !Ref Name}}}}
Outputs:
  Arn: {{Value: !Ref T, Description: the topic, Export: {{Name: {base}-arn}}}}
  Name: {{Value: !GetAtt T.TopicName}}
"""
    cfn.create_stack(StackName=base, TemplateBody=body, Tags=[{"Key": "team", "Value": "sec"}],
                     Parameters=[{"ParameterKey": "Secret", "ParameterValue": "hunter2"}])
    got = wait(cfn, base)
    assert got["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in got["Parameters"]}
    assert params == {"Secret": "****", "Name": "plain"}
    assert got["Tags"] == [{"Key": "team", "Value": "sec"}]
    outputs = {o["OutputKey"]: o for o in got["Outputs"]}
    assert outputs["Arn"]["ExportName"] == f"{base}-arn" and outputs["Arn"]["Description"] == "the topic"
    assert outputs["Arn"]["OutputValue"].endswith(":" + outputs["Name"]["OutputValue"])
    importer = f"Resources:\n  S:\n    Type: AWS::SNS::Topic\n    Properties: {{DisplayName: !ImportValue {base}-arn}}\n"
    cfn.create_stack(StackName=user, TemplateBody=importer)
    assert wait(cfn, user)["StackStatus"] == "CREATE_COMPLETE"
    summary = cfn.get_template_summary(StackName=base)
    assert [p["ParameterKey"] for p in summary["Parameters"]] == ["Secret", "Name"]
    assert summary["ResourceTypes"] == ["AWS::SNS::Topic"]
    complete = [s["StackName"] for s in cfn.list_stacks(StackStatusFilter=["CREATE_COMPLETE"])["StackSummaries"]]
    assert base in complete and user in complete
    detail = cfn.describe_stack_resource(StackName=base, LogicalResourceId="T")["StackResourceDetail"]
    assert detail["ResourceType"] == "AWS::SNS::Topic" and detail["ResourceStatus"] == "CREATE_COMPLETE"
    by_physical = cfn.describe_stack_resources(PhysicalResourceId=detail["PhysicalResourceId"])["StackResources"]
    assert [r["StackName"] for r in by_physical] == [base]
    for s in (user, base):
        cfn.delete_stack(StackName=s)
    deleted = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    deadline = time.time() + 10
    while base not in [s["StackName"] for s in deleted]:
        assert time.time() < deadline
        time.sleep(0.05)
        deleted = cfn.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]


def test_termination_protection_refuses_delete(server):
    cfn = server.client("cloudformation")
    stack = unique("protected")
    cfn.create_stack(StackName=stack, TemplateBody="Resources:\n  T: {Type: AWS::SNS::Topic}\n",
                     EnableTerminationProtection=True)
    assert wait(cfn, stack)["EnableTerminationProtection"] is True
    with pytest.raises(ClientError) as exc:
        cfn.delete_stack(StackName=stack)
    assert code(exc) == "ValidationError"
    assert message(exc) == f"Stack [{stack}] cannot be deleted while TerminationProtection is enabled"
    cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=False)
    cfn.delete_stack(StackName=stack)


def test_stacks_survive_a_restart(fresh_server):
    cfn = fresh_server.client("cloudformation")
    body = "Resources:\n  T: {Type: AWS::SNS::Topic, Properties: {TopicName: durable}}\n"
    cfn.create_stack(StackName="durable", TemplateBody=body)
    assert wait(cfn, "durable")["StackStatus"] == "CREATE_COMPLETE"
    fresh_server.restart()
    cfn = fresh_server.client("cloudformation")
    assert cfn.describe_stacks(StackName="durable")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert len(events(cfn, "durable")) == 4
    cfn.delete_stack(StackName="durable")
    wait(cfn, cfn.list_stacks()["StackSummaries"][0]["StackId"])
    assert fresh_server.client("sns").list_topics()["Topics"] == []


# --- cfn-lint ----------------------------------------------------------------------------

def test_cfn_lint_is_clean_on_the_fixtures():
    # W3011 (UpdateReplacePolicy beside DeletionPolicy) fires on the seed's bucket, which the
    # fixture keeps byte for byte; it is the only exclusion. The typo fixture is invalid on
    # purpose and is not linted.
    lint = Path(sys.executable).parent / "cfn-lint"
    proc = subprocess.run([str(lint), "--ignore-checks", "W3011", "--", str(FIXTURES / "cis.yaml")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_resources_are_authorized_as_the_stack_caller(server):
    # A user allowed CloudFormation but not SNS: the stack is accepted, and SNS itself
    # refuses the topic, so the stack rolls back with IAM's denial as the reason.
    iam = server.client("iam")
    user = unique("cfn-only")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="cfn", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    cfn = server.client("cloudformation", aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"])
    stack = unique("denied")
    body = f"Resources:\n  T: {{Type: AWS::SNS::Topic, Properties: {{TopicName: {stack}}}}}\n"
    cfn.create_stack(StackName=stack, TemplateBody=body)
    got = wait(cfn, stack)
    assert got["StackStatus"] == "ROLLBACK_COMPLETE"
    [failed] = [e for e in events(cfn, stack) if e["ResourceStatus"] == "CREATE_FAILED"]
    reason = failed["ResourceStatusReason"]
    assert f"User: arn:aws:iam::{ACCOUNT}:user/{user} is not authorized to perform: sns:CreateTopic" in reason, reason
    assert "(HandlerErrorCode: AuthorizationError" in reason, reason
