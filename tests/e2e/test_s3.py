"""S3 end to end: the aws CLI (s3 and s3api) and boto3 against the debug binary."""

import base64
import hashlib
import json
import os
import socket
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY

ACCOUNT = "000000000000"


def name(prefix="b"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def err(exc):
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def s3(server, **kw):
    return server.client("s3", **kw)


def cli(server, *args):
    """Runs an `aws s3` command (text output), returning its stdout."""
    proc = server.aws(*args, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_cp_ls_sync_small_and_multipart(server, tmp_path):
    bucket = name()
    cli(server, "s3", "mb", f"s3://{bucket}")
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello mamori\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024))
    cli(server, "s3", "cp", str(small), f"s3://{bucket}/dir/small.txt")
    cli(server, "s3", "cp", str(big), f"s3://{bucket}/big.bin")
    head = server.aws("s3api", "head-object", "--bucket", bucket, "--key", "big.bin")
    assert head["ContentLength"] == 20 * 1024 * 1024
    assert head["ETag"].endswith('-3"'), head["ETag"]  # 8 MiB parts: the multipart form
    out = tmp_path / "out.bin"
    cli(server, "s3", "cp", f"s3://{bucket}/big.bin", str(out))
    assert out.read_bytes() == big.read_bytes()
    got = s3(server).get_object(Bucket=bucket, Key="dir/small.txt")
    assert got["Body"].read() == b"hello mamori\n"
    assert got["ETag"] == '"%s"' % hashlib.md5(b"hello mamori\n").hexdigest()
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    for rel in ["one.txt", "a/two.txt", "a/b/three with space.txt", "a/b/plus+sign.txt"]:
        (tree / rel).write_text(rel)
    cli(server, "s3", "sync", str(tree), f"s3://{bucket}/tree/")
    listed = s3(server).list_objects_v2(Bucket=bucket, Prefix="tree/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(
        f"tree/{r}" for r in ["one.txt", "a/two.txt", "a/b/three with space.txt", "a/b/plus+sign.txt"])
    # A second sync finds nothing to do; a sync back reproduces the tree.
    again = server.aws("s3", "sync", str(tree), f"s3://{bucket}/tree/", check=False)
    assert again.returncode == 0 and "upload:" not in again.stdout
    back = tmp_path / "back"
    cli(server, "s3", "sync", f"s3://{bucket}/tree/", str(back))
    assert (back / "a" / "b" / "three with space.txt").read_text() == "a/b/three with space.txt"
    # Copies inside S3 (CopyObject; UploadPartCopy above 8 MiB), move and recursive rm.
    cli(server, "s3", "cp", f"s3://{bucket}/big.bin", f"s3://{bucket}/copy/big.bin")
    cli(server, "s3", "cp", f"s3://{bucket}/dir/small.txt", f"s3://{bucket}/copy/small.txt")
    cli(server, "s3", "mv", f"s3://{bucket}/copy/small.txt", f"s3://{bucket}/moved/small.txt")
    copied = tmp_path / "copied.bin"
    cli(server, "s3", "cp", f"s3://{bucket}/copy/big.bin", str(copied))
    assert copied.read_bytes() == big.read_bytes()
    keys = [o["Key"] for o in s3(server).list_objects_v2(Bucket=bucket)["Contents"]]
    assert "moved/small.txt" in keys and "copy/small.txt" not in keys
    ls = server.aws("s3", "ls", f"s3://{bucket}/", check=False)
    assert "PRE dir/" in ls.stdout and "big.bin" in ls.stdout
    assert bucket in server.aws("s3", "ls", check=False).stdout
    cli(server, "s3", "rb", f"s3://{bucket}", "--force")
    assert bucket not in server.aws("s3", "ls", check=False).stdout


def test_objects_with_boto3(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="k.txt", Body=b"0123456789", ContentType="text/plain",
                 Metadata={"signature": "abc123", "signature-algorithm": "SHA256withRSA"})
    got = c.get_object(Bucket=bucket, Key="k.txt")
    assert got["Metadata"] == {"signature": "abc123", "signature-algorithm": "SHA256withRSA"}
    assert got["ContentType"] == "text/plain"
    assert got["ServerSideEncryption"] == "AES256"
    ranged = c.get_object(Bucket=bucket, Key="k.txt", Range="bytes=2-4")
    assert ranged["Body"].read() == b"234"
    assert ranged["ContentRange"] == "bytes 2-4/10"
    assert ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert c.get_object(Bucket=bucket, Key="k.txt", Range="bytes=-3")["Body"].read() == b"789"
    etag = got["ETag"]
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="k.txt", IfNoneMatch=etag)
    assert err(e)[1] == 304
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="k.txt", IfMatch='"nope"')
    assert err(e) == ("PreconditionFailed", 412)
    assert c.get_object(Bucket=bucket, Key="k.txt", IfMatch=etag)["Body"].read() == b"0123456789"
    with pytest.raises(ClientError) as e:
        c.head_object(Bucket=bucket, Key="missing")
    assert err(e)[1] == 404
    c.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "k.txt"})
    copied = c.get_object(Bucket=bucket, Key="copy.txt")
    assert copied["Body"].read() == b"0123456789" and copied["Metadata"]["signature"] == "abc123"
    c.put_object_tagging(Bucket=bucket, Key="k.txt", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert c.get_object_tagging(Bucket=bucket, Key="k.txt")["TagSet"] == [{"Key": "t", "Value": "1"}]
    out = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k.txt"}, {"Key": "copy.txt"}, {"Key": "never"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["copy.txt", "k.txt", "never"]
    assert c.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # Bucket tagging, location, head, and delete when empty.
    c.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
    assert c.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "test"}]
    assert c.get_bucket_location(Bucket=bucket)["LocationConstraint"] is None
    assert c.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == REGION
    c.delete_bucket(Bucket=bucket)
    assert bucket not in [b["Name"] for b in c.list_buckets()["Buckets"]]


def test_listing_prefix_delimiter_pagination_encoding(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    keys = [f"logs/2024/{i:02d}.txt" for i in range(7)] + ["logs/a b+c.txt", "root.txt", "x/y/z"]
    for k in keys:
        c.put_object(Bucket=bucket, Key=k, Body=b"x")
    pages = c.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3})
    assert sorted(o["Key"] for p in pages for o in p.get("Contents", [])) == sorted(keys)
    top = c.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/", "x/"]
    assert [o["Key"] for o in top["Contents"]] == ["root.txt"]
    sub = c.list_objects_v2(Bucket=bucket, Prefix="logs/", Delimiter="/", EncodingType="url")
    # botocore decodes only when it asked for the encoding itself; here the keys arrive
    # encoded as S3 sends them.
    assert "logs/a%20b%2Bc.txt" in [o["Key"] for o in sub["Contents"]]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["logs/2024/"]
    v1 = c.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
    assert sorted(o["Key"] for p in v1 for o in p.get("Contents", [])) == sorted(keys)
    raw = server.aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "logs/2024/", "--max-items", "2")
    assert len(raw["Contents"]) == 2 and "NextToken" in raw


def test_error_xml_and_bad_input(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    status, _, body = server.request("GET", f"/{bucket}/missing-key", service="s3")
    assert status == 404
    assert b"<Code>NoSuchKey</Code>" in body and b"<Key>missing-key</Key>" in body and b"<RequestId>" in body
    status, _, body = server.request("GET", "/no-such-bucket-zz/k", service="s3")
    assert status == 404 and b"<Code>NoSuchBucket</Code>" in body
    status, _, body = server.request("HEAD", f"/{bucket}/missing-key", service="s3")
    assert status == 404 and body == b""
    for bad in ["ab", "a..b", "192.168.1.1", "-dash", "x" * 64, "under_score"]:
        with pytest.raises(ClientError) as e:
            c.create_bucket(Bucket=bad)
        assert err(e)[0] == "InvalidBucketName", bad
    # botocore refuses upper case itself; the CLI's raw call reaches the server.
    upper = server.aws("s3api", "create-bucket", "--bucket", "UPPER", check=False)
    assert upper.returncode != 0 and "InvalidBucketName" in upper.stderr
    with pytest.raises(ClientError) as e:
        c.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert err(e)[0] == "IllegalLocationConstraintException"
    # Content-MD5 and checksum mismatches.
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5=wrong_md5)
    assert err(e) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="crc", Body=b"data", ChecksumCRC32="AAAAAA==")
    assert err(e) == ("BadDigest", 400)
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="sha", Body=b"data", ChecksumSHA256=base64.b64encode(b"\0" * 32).decode())
    assert err(e) == ("BadDigest", 400)
    for k in ["md5", "crc", "sha"]:
        with pytest.raises(ClientError):
            c.head_object(Bucket=bucket, Key=k)
    good = c.put_object(Bucket=bucket, Key="ok", Body=b"data", ChecksumAlgorithm="SHA256")
    assert good["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"data").digest()).decode()
    # Malformed XML configurations.
    status, _, body = server.request("PUT", f"/{bucket}", body=b"<LifecycleConfiguration><Rule>", query="lifecycle",
                                     service="s3", headers={"content-md5": base64.b64encode(hashlib.md5(b"<LifecycleConfiguration><Rule>").digest()).decode()})
    assert status == 400 and b"<Code>MalformedXML</Code>" in body
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="ok", Range="bytes=100-200")
    assert err(e) == ("InvalidRange", 416)
    for doc in ["{not json", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}),
                json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"}]})]:
        with pytest.raises(ClientError) as e:
            c.put_bucket_policy(Bucket=bucket, Policy=doc)
        assert err(e) == ("MalformedPolicy", 400), doc
    with pytest.raises(ClientError) as e:
        c.delete_bucket(Bucket=bucket)
    assert err(e) == ("BucketNotEmpty", 409)
    with pytest.raises(ClientError) as e:
        c.create_bucket(Bucket=bucket, ACL="public-read")
    # us-east-1 answers 200 to the owner re-creating its bucket; ACLs are refused first.
    assert err(e)[0] in ("AccessControlListNotSupported", "InvalidBucketAclWithObjectOwnership")


def test_interrupted_upload_leaves_nothing(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    from conftest import sigv4_headers
    body = b"x" * 100_000
    headers = sigv4_headers("PUT", server.url, f"/{bucket}/partial", "", {"content-length": str(len(body))},
                            body, "s3", REGION, ACCESS_KEY, SECRET_KEY)
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = f"PUT /{bucket}/partial HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body[:40_000])
    sock.close()
    with pytest.raises(ClientError) as e:
        c.head_object(Bucket=bucket, Key="partial")
    assert err(e)[1] == 404


def test_presigned_get(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="p/file.txt", Body=b"presigned body")
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p/file.txt"}, ExpiresIn=300)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b"presigned body"
    tampered = url.replace("p/file.txt", "p/other.txt")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered, timeout=10)
    assert e.value.code == 403


def iam_user(server, user):
    iam = server.client("iam")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return s3(server, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def test_bucket_policy_is_enforced(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="public/a.txt", Body=b"a")
    c.put_object(Bucket=bucket, Key="private/b.txt", Body=b"b")
    user = f"u{uuid.uuid4().hex[:8]}"
    other = iam_user(server, user)
    with pytest.raises(ClientError) as e:
        other.get_object(Bucket=bucket, Key="public/a.txt")
    assert err(e) == ("AccessDenied", 403)
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"},
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"},
         "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "public/*"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/private/*"},
    ]}
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert json.loads(c.get_bucket_policy(Bucket=bucket)["Policy"]) == policy
    assert c.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    assert other.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"a"
    with pytest.raises(ClientError) as e:
        other.get_object(Bucket=bucket, Key="private/b.txt")
    assert err(e) == ("AccessDenied", 403)
    assert [o["Key"] for o in other.list_objects_v2(Bucket=bucket, Prefix="public/")["Contents"]] == ["public/a.txt"]
    with pytest.raises(ClientError) as e:
        other.list_objects_v2(Bucket=bucket, Prefix="private/")
    assert err(e) == ("AccessDenied", 403)
    # CopyObject needs s3:GetObject on its source too: the user may write under public/,
    # but a copy from private/ is refused for the source read.
    with pytest.raises(ClientError) as e:
        other.copy_object(Bucket=bucket, Key="public/copy.txt", CopySource={"Bucket": bucket, "Key": "private/b.txt"})
    assert err(e) == ("AccessDenied", 403)
    assert "private/b.txt" in e.value.response["Error"]["Message"]
    other.copy_object(Bucket=bucket, Key="public/copy.txt", CopySource={"Bucket": bucket, "Key": "public/a.txt"})
    assert other.get_object(Bucket=bucket, Key="public/copy.txt")["Body"].read() == b"a"
    # The explicit deny binds even the bucket owner's root user.
    with pytest.raises(ClientError) as e:
        c.delete_object(Bucket=bucket, Key="private/b.txt")
    assert err(e) == ("AccessDenied", 403)
    c.delete_bucket_policy(Bucket=bucket)
    c.delete_object(Bucket=bucket, Key="private/b.txt")


def test_missing_keys_are_hidden_from_callers_who_cannot_list(server):
    """S3 answers a missing key with 404 only to a caller allowed s3:ListBucket; a caller
    with read access alone (here: anonymous, through a public policy) gets 403."""
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="k", Body=b"hello")
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))

    def anonymous(key, method="GET"):
        req = urllib.request.Request(f"{server.url}/{bucket}/{key}", method=method)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    assert anonymous("k") == (200, b"hello")
    status, body = anonymous("missing")
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert anonymous("missing", "HEAD")[0] == 403
    assert anonymous("k", "DELETE")[0] == 403
    # The owner may list, so it learns the key is missing.
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="missing")
    assert err(e) == ("NoSuchKey", 404)
    # Granting anonymous s3:ListBucket turns the 403 into the 404.
    public["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket",
                                "Resource": f"arn:aws:s3:::{bucket}"})
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    status, body = anonymous("missing")
    assert status == 404 and b"<Code>NoSuchKey</Code>" in body


def test_public_access_block_refuses_public_policy(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert c.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False}, "settings left out are false"
    conf = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    c.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=conf)
    assert c.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == conf
    public = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    with pytest.raises(ClientError) as e:
        c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert err(e) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as e:
        c.get_bucket_policy(Bucket=bucket)
    assert err(e) == ("NoSuchBucketPolicy", 404)
    c.delete_public_access_block(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        c.get_public_access_block(Bucket=bucket)
    assert err(e)[0] == "NoSuchPublicAccessBlockConfiguration"
    c.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public))
    assert c.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    # Ownership controls: ACLs are disabled by default, bucket-owner-full-control passes.
    assert c.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    c.put_object(Bucket=bucket, Key="acl", Body=b"x", ACL="bucket-owner-full-control")
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="acl2", Body=b"x", ACL="public-read")
    assert err(e) == ("AccessControlListNotSupported", 400)
    grants = c.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_default_encryption_and_bodies_at_rest(fresh_server):
    c = s3(fresh_server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    assert c.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0][
        "ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    marker = b"PLAINTEXT-MARKER-" * 4096
    out = c.put_object(Bucket=bucket, Key="secret", Body=marker, ServerSideEncryption="AES256")
    assert out["ServerSideEncryption"] == "AES256"
    c.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/mine"}}]})
    kms = c.put_object(Bucket=bucket, Key="kms", Body=marker)
    assert kms["ServerSideEncryption"] == "aws:kms" and kms["SSEKMSKeyId"] == "alias/mine"
    root = Path(fresh_server.data_dir) / "state" / "s3"
    files = list((root / "objects").iterdir())
    assert len(files) == 2
    for f in files:
        assert b"PLAINTEXT-MARKER" not in f.read_bytes()
    key = (root / "master.key").read_bytes()
    assert len(key) == 32 and all(key not in f.read_bytes() for f in files)
    assert c.get_object(Bucket=bucket, Key="secret")["Body"].read() == marker


def test_versioning_and_delete_markers(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = c.put_object(Bucket=bucket, Key="doc", Body=b"v1")["VersionId"]
    v2 = c.put_object(Bucket=bucket, Key="doc", Body=b"v2")["VersionId"]
    assert v1 != v2
    dm = c.delete_object(Bucket=bucket, Key="doc")
    assert dm["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="doc")
    assert err(e)[0] == "NoSuchKey"
    assert c.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"v1"
    versions = c.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in versions["Versions"]] == [v2, v1]
    assert versions["DeleteMarkers"][0]["VersionId"] == dm["VersionId"]
    assert versions["DeleteMarkers"][0]["IsLatest"] is True
    c.delete_object(Bucket=bucket, Key="doc", VersionId=dm["VersionId"])
    assert c.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v2"
    c.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert c.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"v1"
    # MFA Delete needs x-amz-mfa with a code of root's device; without one S3 refuses,
    # and a code of a device root does not have is refused too (test_s3_mfa_delete.py
    # has the whole flow with root's device).
    with pytest.raises(ClientError) as e:
        c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    assert err(e) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as e:
        c.put_bucket_versioning(Bucket=bucket, MFA="arn:aws:iam::000000000000:mfa/root 123456",
                                VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
    assert err(e) == ("AccessDenied", 403)
    assert "MFADelete" not in c.get_bucket_versioning(Bucket=bucket)
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_lifecycle_expiry_on_manual_clock(manual_server):
    c = s3(manual_server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    c.put_object(Bucket=bucket, Key="tmp/a", Body=b"a")
    c.put_object(Bucket=bucket, Key="keep/b", Body=b"b")
    upload = c.create_multipart_upload(Bucket=bucket, Key="tmp/stale")["UploadId"]
    c.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    rules = c.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["ID"] == "tmp" and rules[0]["Expiration"]["Days"] == 1
    manual_server.advance(3600)
    assert c.get_object(Bucket=bucket, Key="tmp/a")["Body"].read() == b"a"
    manual_server.advance(2 * 86400)
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="tmp/a")
    assert err(e)[0] == "NoSuchKey"
    assert c.get_object(Bucket=bucket, Key="keep/b")["Body"].read() == b"b"
    assert "Uploads" not in c.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        c.list_parts(Bucket=bucket, Key="tmp/stale", UploadId=upload)
    assert err(e)[0] == "NoSuchUpload"
    # The expiry left a delete marker (versioned bucket); a day later the noncurrent
    # version goes too.
    manual_server.advance(2 * 86400)
    versions = c.list_object_versions(Bucket=bucket, Prefix="tmp/")
    assert "Versions" not in versions
    c.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        c.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert err(e)[0] == "NoSuchLifecycleConfiguration"


def test_access_logs_delivered(manual_server):
    c = s3(manual_server)
    source, target = name("src"), name("logs")
    c.create_bucket(Bucket=source)
    c.create_bucket(Bucket=target)
    c.put_bucket_logging(Bucket=source, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "access/"}})
    assert c.get_bucket_logging(Bucket=source)["LoggingEnabled"]["TargetPrefix"] == "access/"
    c.put_object(Bucket=source, Key="obj.txt", Body=b"hello")
    c.get_object(Bucket=source, Key="obj.txt")["Body"].read()
    with pytest.raises(ClientError):
        c.get_object(Bucket=source, Key="missing")
    manual_server.advance(120)
    logs = c.list_objects_v2(Bucket=target, Prefix="access/")
    assert logs["KeyCount"] >= 1
    text = "".join(c.get_object(Bucket=target, Key=o["Key"])["Body"].read().decode() for o in logs["Contents"])
    lines = text.strip().splitlines()
    assert any(" REST.PUT.OBJECT obj.txt " in l and " 200 " in l for l in lines), text
    assert any(" REST.GET.OBJECT obj.txt " in l and f" {source} [" in l for l in lines), text
    assert any(" REST.GET.OBJECT missing " in l and " 404 NoSuchKey " in l for l in lines), text


def test_durability_after_kill(fresh_server):
    c = s3(fresh_server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    c.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    body = os.urandom(300_000)
    c.put_object(Bucket=bucket, Key="durable.bin", Body=body)
    up = c.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    c.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=b"part")
    fresh_server.restart()
    c = s3(fresh_server)
    assert c.get_object(Bucket=bucket, Key="durable.bin")["Body"].read() == body
    assert c.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert [p["PartNumber"] for p in c.list_parts(Bucket=bucket, Key="mp", UploadId=up)["Parts"]] == [1]


def test_multipart_api_and_virtual_host(server):
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    up = c.create_multipart_upload(Bucket=bucket, Key="m/obj", Metadata={"a": "1"})["UploadId"]
    assert [u["UploadId"] for u in c.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up]
    p1 = c.upload_part(Bucket=bucket, Key="m/obj", UploadId=up, PartNumber=1, Body=b"a" * (5 * 1024 * 1024))
    p2 = c.upload_part(Bucket=bucket, Key="m/obj", UploadId=up, PartNumber=2, Body=b"tail")
    with pytest.raises(ClientError) as e:
        c.upload_part(Bucket=bucket, Key="m/obj", UploadId=up, PartNumber=10001, Body=b"x")
    assert err(e)[0] == "InvalidArgument"
    parts = c.list_parts(Bucket=bucket, Key="m/obj", UploadId=up)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * 1024 * 1024), (2, 4)]
    with pytest.raises(ClientError) as e:
        c.complete_multipart_upload(Bucket=bucket, Key="m/obj", UploadId=up,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert err(e)[0] == "InvalidPart"
    done = c.complete_multipart_upload(Bucket=bucket, Key="m/obj", UploadId=up, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]})
    assert done["ETag"].endswith('-2"')
    got = c.get_object(Bucket=bucket, Key="m/obj")
    assert got["ContentLength"] == 5 * 1024 * 1024 + 4 and got["Metadata"] == {"a": "1"}
    up2 = c.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    c.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up2)
    with pytest.raises(ClientError) as e:
        c.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up2)
    assert err(e) == ("NoSuchUpload", 404)
    # Virtual-host style: the bucket in the Host header (sent to 127.0.0.1 directly, so
    # no DNS for *.localhost is needed).
    import http.client
    from conftest import sigv4_headers
    vhost = f"http://{bucket}.s3.localhost:{server.port}"
    for method, path, body in [("PUT", "/vh.txt", b"virtual"), ("GET", "/vh.txt", b""), ("GET", "/", b"")]:
        headers = sigv4_headers(method, vhost, path, "", {"x-amz-content-sha256": hashlib.sha256(body).hexdigest()},
                                body, "s3", REGION, ACCESS_KEY, SECRET_KEY)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        assert resp.status == 200, (method, path, data)
        if method == "GET" and path == "/vh.txt":
            assert data == b"virtual"
        if path == "/" and method == "GET":
            assert b"<Key>vh.txt</Key>" in data and b"<Key>m/obj</Key>" in data
    assert c.get_object(Bucket=bucket, Key="vh.txt")["Body"].read() == b"virtual"


def chunked_put(server, bucket, key, body, trailer):
    """PutObject as current botocore sends it: aws-chunked body, unsigned payload with a
    trailing checksum header. Signed here by hand (the payload hash is the literal
    STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    import datetime
    import hmac
    import http.client
    when = datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n" + trailer.encode() + b"\r\n\r\n"
    h = {
        "host": f"127.0.0.1:{server.port}", "x-amz-date": amz_date, "content-encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "x-amz-trailer": trailer.split(":")[0],
        "x-amz-decoded-content-length": str(len(body)), "content-length": str(len(payload)),
    }
    signed = sorted(h)
    canonical = "\n".join(["PUT", f"/{bucket}/{key}", "", "".join(f"{k}:{h[k]}\n" for k in signed),
                           ";".join(signed), "STREAMING-UNSIGNED-PAYLOAD-TRAILER"])
    scope = f"{date}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def mac(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    k = mac(mac(mac(mac(("AWS4" + SECRET_KEY).encode(), date), REGION), "s3"), "aws4_request")
    h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, SignedHeaders={';'.join(signed)}, "
                          f"Signature={hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()}")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("PUT", f"/{bucket}/{key}", body=payload, headers=h)
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_trailing_checksums_are_verified(server):
    import zlib
    c = s3(server)
    bucket = name()
    c.create_bucket(Bucket=bucket)
    body = b"chunked body " * 100
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    status, data = chunked_put(server, bucket, "good", body, f"x-amz-checksum-crc32:{crc}")
    assert status == 200, data
    got = c.get_object(Bucket=bucket, Key="good", ChecksumMode="ENABLED")
    assert got["Body"].read() == body and got["ChecksumCRC32"] == crc
    assert "ContentEncoding" not in got  # aws-chunked is framing, not the object's encoding
    status, data = chunked_put(server, bucket, "bad", body, "x-amz-checksum-crc32:AAAAAA==")
    assert status == 400 and b"<Code>BadDigest</Code>" in data
    with pytest.raises(ClientError) as e:
        c.head_object(Bucket=bucket, Key="bad")
    assert err(e)[1] == 404
