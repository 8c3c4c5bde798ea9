"""The foundation: identity through real clients, SigV4 failures, routing errors,
model-driven validation and the admin API."""

import datetime
import json

import pytest
from botocore.exceptions import ClientError

ROOT_IDENTITY = {"UserId": "000000000000", "Account": "000000000000", "Arn": "arn:aws:iam::000000000000:root"}


def test_get_caller_identity_via_boto3(server):
    got = server.client("sts").get_caller_identity()
    assert {k: got[k] for k in ROOT_IDENTITY} == ROOT_IDENTITY
    assert got["ResponseMetadata"]["RequestId"]


def test_get_caller_identity_via_aws_cli(server):
    assert server.aws("sts", "get-caller-identity") == ROOT_IDENTITY


def test_wrong_secret_is_rejected(server):
    sts = server.client("sts", aws_secret_access_key="not-the-secret")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_access_key_is_rejected_in_each_protocol(server):
    for service, call, code in [
        ("sts", lambda c: c.get_caller_identity(), "InvalidClientTokenId"),
        ("logs", lambda c: c.describe_log_groups(), "UnrecognizedClientException"),
    ]:
        client = server.client(service, aws_access_key_id="AKIDUNKNOWN")
        with pytest.raises(ClientError) as exc:
            call(client)
        assert exc.value.response["Error"]["Code"] == code, service


def test_cli_reports_wrong_secret(server):
    proc = server.aws("sts", "get-caller-identity", check=False, env={"AWS_SECRET_ACCESS_KEY": "nope"})
    assert proc.returncode != 0
    assert "SignatureDoesNotMatch" in proc.stderr


def test_tampered_body_is_rejected(server):
    body = "Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    status, _, data = server.request("POST", "/", body, headers)
    assert status == 200, data
    # Sign one body, send another.
    from conftest import sigv4_headers
    signed = sigv4_headers("POST", server.url, "/", "", headers, body.encode(), "sts", "us-east-1", "test", "test")
    status, _, data = server.request("POST", "/", body + "&Extra=1", signed, sign=False)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in data


def test_expired_signature_is_rejected(server):
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    status, _, data = server.request("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                                     {"content-type": "application/x-www-form-urlencoded"}, when=old)
    assert status == 400
    assert b"<Code>RequestExpired</Code>" in data
    assert b"Signature expired" in data


def test_missing_signature_is_rejected(server):
    status, _, data = server.request("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                                     {"content-type": "application/x-www-form-urlencoded"}, sign=False)
    assert status == 403
    assert b"MissingAuthenticationToken" in data


def test_unknown_operations_get_protocol_errors(server):
    status, headers, data = server.request("POST", "/", "Action=NoSuchAction&Version=2011-06-15",
                                           {"content-type": "application/x-www-form-urlencoded"})
    assert status == 400 and b"<Code>InvalidAction</Code>" in data
    status, headers, data = server.request("POST", "/", "{}", {"x-amz-target": "Logs_20140328.NoSuchThing",
                                                               "content-type": "application/x-amz-json-1.1"}, service="logs")
    assert status == 400
    assert json.loads(data)["__type"] == "UnknownOperationException"
    assert "x-amzn-requestid" in {k.lower() for k in headers}


def test_operations_without_handlers_answer_not_implemented(server):
    with pytest.raises(ClientError) as exc:
        server.client("kms").list_keys()
    err = exc.value.response
    assert err["Error"]["Code"] == "NotImplemented"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert "kms.ListKeys" in err["Error"]["Message"]


def test_missing_required_member_is_named(server):
    # Most JSON services answer ValidationException; CloudWatch Logs its own
    # InvalidParameterException, as AWS does.
    for target, service, code, member in [("TrentService.CreateAlias", "kms", "ValidationException", "aliasName"),
                                          ("Logs_20140328.CreateLogGroup", "logs", "InvalidParameterException",
                                           "logGroupName")]:
        status, _, data = server.request("POST", "/", "{}", {"x-amz-target": target,
                                                             "content-type": "application/x-amz-json-1.1"}, service=service)
        assert status == 400
        err = json.loads(data)
        assert err["__type"] == code
        assert f"Value null at '{member}' failed to satisfy constraint: Member must not be null" in err["message"]


def test_malformed_bodies_are_client_errors(server):
    for body, want in [(b"{not json", "SerializationException"), (b"\xff\xfe", "SerializationException"),
                       (b'{"logGroupName": 7}', "SerializationException")]:
        status, _, data = server.request("POST", "/", body, {"x-amz-target": "Logs_20140328.CreateLogGroup",
                                                             "content-type": "application/x-amz-json-1.1"}, service="logs")
        assert status == 400, body
        assert json.loads(data)["__type"] == want
    status, _, data = server.request("POST", "/", b"Action=GetCallerIdentity&\xff=1",
                                     {"content-type": "application/x-www-form-urlencoded"})
    assert 400 <= status < 500


def test_oversized_body_is_refused(fresh_server):
    status, _, _ = fresh_server.request("POST", "/", b"x" * (65 * 1024 * 1024),
                                        {"content-type": "application/x-www-form-urlencoded"}, sign=False)
    assert status == 413
    assert fresh_server.client("sts").get_caller_identity()["Account"] == "000000000000"


def test_cloudwatch_query_mode_errors_carry_query_error_header(server):
    status, headers, data = server.request(
        "POST", "/", "{}", {"x-amz-target": "GraniteServiceVersion20100801.ListDashboards",
                            "content-type": "application/x-amz-json-1.0", "x-amzn-query-mode": "true"},
        service="monitoring")
    assert status == 501
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["x-amzn-query-error"] == "NotImplemented;Receiver"


def test_health_and_admin_auth(server):
    import urllib.request
    with urllib.request.urlopen(server.url + "/_mamori/health") as r:
        health = json.loads(r.read())
    assert health["status"] == "ok" and "sts" in health["services"]
    status, _, _ = server.request("POST", "/_mamori/reset", sign=False)
    assert status == 403
    status, _, _ = server.request("POST", "/_mamori/reset", service="mamori", secret="wrong")
    assert status == 403


def test_manual_clock_advances_only_when_told(manual_server):
    before = manual_server.admin("/_mamori/clock", {"advance_seconds": 0})["now"]
    after = manual_server.advance(3600)["now"]
    t0 = datetime.datetime.fromisoformat(before.replace("Z", "+00:00"))
    t1 = datetime.datetime.fromisoformat(after.replace("Z", "+00:00"))
    assert (t1 - t0).total_seconds() == 3600
    # Signatures still use the wall clock, so clients keep working an hour "later".
    assert manual_server.client("sts").get_caller_identity()["Account"] == "000000000000"
    # A jump beyond what one call runs, or beyond any date, is refused, not a crash.
    for seconds in (400 * 86400 + 1, 1e300):
        status, _, data = manual_server.request(
            "POST", "/_mamori/clock", json.dumps({"advance_seconds": seconds}).encode(),
            {"content-type": "application/json"}, service="mamori")
        assert status == 400 and b"at most" in data, data
    far = (t1 + datetime.timedelta(days=401)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, _, data = manual_server.request(
        "POST", "/_mamori/clock", json.dumps({"set": far}).encode(),
        {"content-type": "application/json"}, service="mamori")
    assert status == 400 and b"at most 400 days" in data, data
    assert manual_server.now() == t1
