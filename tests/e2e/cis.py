"""The CIS AWS Foundations 3.1-3.14 metric filters, verbatim from the seed templates
(shared/seed, AWS::Logs::MetricFilter resources), and CloudTrail records that match or
miss each of them. Shared by test_logs.py and scripts/bench_logs.py."""

import json
import uuid

# (metric name, filter pattern) as the seed declares them; namespace LogMetrics, value 1.
CIS_FILTERS = [
    ("UnauthorizedAPICalls", '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}'),
    ("LoginWithoutMFA", '{($.eventName="ConsoleLogin") && ($.additionalEventData.MFAUsed !="Yes")}'),
    ("ForRootAcount", '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}'),
    ("IamPolicyChanges", '{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}'),
    ("CloudTrailConfigurationChanges", '{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}'),
    ("AuthenticationFailuresDetected", '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}'),
    ("CustomerCreatedCMKsChanges", '{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}'),
    ("S3BucketPolicyChanges", '{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}'),
    ("ConfigConfigurationChanges", '{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}'),
    ("SecurityGroupChanges", '{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}'),
    ("NACLChanges", '{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}'),
    ("NetworkGatewayChanges", '{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}'),
    ("RouteTableChanges", '{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}'),
    ("VpcChanges", '{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}'),
]

IAM_USER = {
    "type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::000000000000:user/alice",
    "accountId": "000000000000", "accessKeyId": "AKIAEXAMPLE", "userName": "alice",
}
ROOT = {"type": "Root", "principalId": "000000000000", "arn": "arn:aws:iam::000000000000:root",
        "accountId": "000000000000", "accessKeyId": "ASIAEXAMPLE"}


def record(event_name, event_source, identity=None, **extra):
    """One CloudTrail record, as CloudTrail delivers it to CloudWatch Logs (one JSON
    object per log event)."""
    rec = {
        "eventVersion": "1.08",
        "userIdentity": identity or IAM_USER,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"example": "value"},
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "000000000000",
    }
    rec.update(extra)
    return json.dumps(rec, separators=(",", ":"))


def login(mfa, error=None):
    extra = {"eventType": "AwsConsoleSignIn", "additionalEventData": {"MFAUsed": mfa, "LoginTo": "https://console.aws.amazon.com"},
             "responseElements": {"ConsoleLogin": "Failure" if error else "Success"}}
    if error:
        extra["errorMessage"] = error
    return record("ConsoleLogin", "signin.amazonaws.com", **extra)


# metric name -> (a record that matches only that filter, a close record that matches none)
CIS_CASES = {
    "UnauthorizedAPICalls": (record("DescribeInstances", "ec2.amazonaws.com", errorCode="Client.UnauthorizedOperation"),
                             record("DescribeTrails", "cloudtrail.amazonaws.com", errorCode="TrailNotFoundException")),
    "LoginWithoutMFA": (login("No"), login("Yes")),
    "ForRootAcount": (record("ListBuckets", "s3.amazonaws.com", identity=ROOT),
                      record("ListBuckets", "s3.amazonaws.com", identity=dict(ROOT, invokedBy="support.amazonaws.com"))),
    "IamPolicyChanges": (record("DeleteRolePolicy", "iam.amazonaws.com"), record("GetRolePolicy", "iam.amazonaws.com")),
    "CloudTrailConfigurationChanges": (record("StopLogging", "cloudtrail.amazonaws.com"),
                                       record("DescribeTrails", "cloudtrail.amazonaws.com")),
    "AuthenticationFailuresDetected": (login("Yes", error="Failed authentication"), login("Yes")),
    "CustomerCreatedCMKsChanges": (record("ScheduleKeyDeletion", "kms.amazonaws.com"), record("Decrypt", "kms.amazonaws.com")),
    "S3BucketPolicyChanges": (record("PutBucketPolicy", "s3.amazonaws.com"), record("GetBucketPolicy", "s3.amazonaws.com")),
    "ConfigConfigurationChanges": (record("StopConfigurationRecorder", "config.amazonaws.com"),
                                   record("DescribeConfigurationRecorders", "config.amazonaws.com")),
    "SecurityGroupChanges": (record("AuthorizeSecurityGroupIngress", "ec2.amazonaws.com"),
                             record("DescribeSecurityGroups", "ec2.amazonaws.com")),
    "NACLChanges": (record("CreateNetworkAclEntry", "ec2.amazonaws.com"), record("DescribeNetworkAcls", "ec2.amazonaws.com")),
    "NetworkGatewayChanges": (record("AttachInternetGateway", "ec2.amazonaws.com"),
                              record("DescribeInternetGateways", "ec2.amazonaws.com")),
    "RouteTableChanges": (record("CreateRoute", "ec2.amazonaws.com"), record("DescribeRouteTables", "ec2.amazonaws.com")),
    "VpcChanges": (record("CreateVpc", "ec2.amazonaws.com"), record("DescribeVpcs", "ec2.amazonaws.com")),
}


def put_cis_filters(logs, group):
    for name, pattern in CIS_FILTERS:
        logs.put_metric_filter(
            logGroupName=group, filterName=f"CIS-{name}", filterPattern=pattern,
            metricTransformations=[{"metricName": name, "metricNamespace": "LogMetrics", "metricValue": "1"}])
