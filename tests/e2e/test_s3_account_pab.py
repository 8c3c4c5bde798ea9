"""The account-level public access block (S3 Control) with boto3 and the aws CLI, and
its effect on S3: the most restrictive of the account's and the bucket's settings.

S3 Control clients put the account id in front of the endpoint's host
(`http://000000000000.127.0.0.1:PORT`), which does not resolve here. `resolve_account_host`
sends such requests to the endpoint itself and keeps the signed Host header; the aws CLI
gets the same handler as a CLI plugin (the README describes the hosts-file alternative)."""

import json
import os
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
PLUGIN = '''
from urllib.parse import urlsplit, urlunsplit


def resolve_account_host(request, **kwargs):
    """Sends `<account>.<host>` requests to `<host>`, keeping the signed Host header."""
    parts = urlsplit(request.url)
    account, _, rest = parts.netloc.partition(".")
    if account.isdigit() and len(account) == 12 and rest:
        request.headers["Host"] = parts.netloc
        request.url = urlunsplit(parts._replace(netloc=rest))


def awscli_initialize(cli):
    cli.register("before-send.s3-control", resolve_account_host)
'''
namespace = {}
exec(PLUGIN, namespace)
resolve_account_host = namespace["resolve_account_host"]


def control(server, **kw):
    c = server.client("s3control", **kw)
    c.meta.events.register("before-send.s3-control", resolve_account_host)
    return c


def err(exc):
    e = exc.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def account_block(server):
    """Leaves no account-level block behind for the other tests of the session."""
    c = control(server)
    yield c
    c.delete_public_access_block(AccountId=ACCOUNT)


def public_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def anonymous_get(server, bucket, key):
    try:
        with urllib.request.urlopen(f"{server.url}/{bucket}/{key}", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_get_put_delete_and_errors(account_block):
    c = account_block
    with pytest.raises(ClientError) as e:
        c.get_public_access_block(AccountId=ACCOUNT)
    assert err(e) == ("NoSuchPublicAccessBlockConfiguration", 404)
    assert "The public access block configuration was not found" in str(e.value)
    conf = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": False}
    # Settings left out are kept, and returned, as false.
    c.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicAcls": True,
                                                                               "BlockPublicPolicy": True})
    assert c.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"] == conf
    # Another account's block is not ours to read.
    with pytest.raises(ClientError) as e:
        c.get_public_access_block(AccountId="111122223333")
    assert err(e) == ("AccessDenied", 403)
    c.delete_public_access_block(AccountId=ACCOUNT)
    with pytest.raises(ClientError) as e:
        c.get_public_access_block(AccountId=ACCOUNT)
    assert err(e)[0] == "NoSuchPublicAccessBlockConfiguration"


def test_cloudtrail_records_the_account_block_as_s3_does(server, account_block):
    conf = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rid = account_block.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=conf)[
        "ResponseMetadata"]["RequestId"]
    ct = server.client("cloudtrail")
    for _ in range(100):
        events = ct.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "PutAccountPublicAccessBlock"}])["Events"]
        mine = [json.loads(e["CloudTrailEvent"]) for e in events]
        mine = [e for e in mine if e["requestID"] == rid]
        if mine:
            break
        time.sleep(0.02)
    assert mine, "PutAccountPublicAccessBlock is not in event history"
    assert mine[0]["eventSource"] == "s3.amazonaws.com"


def test_account_block_public_policy_applies_to_every_bucket(server, account_block):
    s3 = server.client("s3")
    bucket = f"acct-pab-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    account_block.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicPolicy": True})
    # The bucket has no block of its own, and still refuses a public policy.
    with pytest.raises(ClientError) as e:
        s3.get_public_access_block(Bucket=bucket)
    assert err(e)[0] == "NoSuchPublicAccessBlockConfiguration"
    with pytest.raises(ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    assert err(e) == ("AccessDenied", 403)
    assert "BlockPublicPolicy" in e.value.response["Error"]["Message"]
    # A policy pinned to an account is not public and passes.
    pinned = json.loads(public_policy(bucket))
    pinned["Statement"][0]["Condition"] = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(pinned))
    # Deleting the account's block restores the bucket's own (none).
    account_block.delete_public_access_block(AccountId=ACCOUNT)
    s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True


def test_account_restrict_public_buckets_and_acls(server, account_block):
    s3 = server.client("s3")
    bucket = f"acct-rpb-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket=bucket, Key="k", Body=b"public")
    s3.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
    assert anonymous_get(server, bucket, "k") == (200, b"public")
    account_block.put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True, "BlockPublicAcls": True,
                                                           "IgnorePublicAcls": True})
    # The public policy no longer opens the bucket to anonymous callers; the owner still reads.
    status, body = anonymous_get(server, bucket, "k")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"public"
    # BlockPublicAcls at account level refuses public ACLs on this bucket and its objects.
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="acl", Body=b"x", ACL="public-read")
    assert err(e) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert err(e) == ("AccessDenied", 403)
    s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    account_block.delete_public_access_block(AccountId=ACCOUNT)
    assert anonymous_get(server, bucket, "k") == (200, b"public")


def test_aws_cli_with_the_host_plugin(server, tmp_path):
    (tmp_path / "mamori_s3control_host.py").write_text(textwrap.dedent(PLUGIN))
    config = tmp_path / "config"
    # aws CLI v1 imports each [plugins] entry from sys.path (v2 would also need
    # cli_legacy_plugin_path, which v1 would try to import as a plugin).
    config.write_text("[plugins]\nmamori_s3control_host = mamori_s3control_host\n")
    env = {"AWS_CONFIG_FILE": str(config), "PYTHONPATH": str(tmp_path)}
    try:
        server.aws("s3control", "put-public-access-block", "--account-id", ACCOUNT,
                   "--public-access-block-configuration", "BlockPublicPolicy=true,RestrictPublicBuckets=true", env=env)
        got = server.aws("s3control", "get-public-access-block", "--account-id", ACCOUNT, env=env)
        assert got["PublicAccessBlockConfiguration"] == {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                                                         "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    finally:
        server.aws("s3control", "delete-public-access-block", "--account-id", ACCOUNT, env=env)
    proc = server.aws("s3control", "get-public-access-block", "--account-id", ACCOUNT, env=env, check=False)
    assert proc.returncode != 0 and "NoSuchPublicAccessBlockConfiguration" in proc.stderr
