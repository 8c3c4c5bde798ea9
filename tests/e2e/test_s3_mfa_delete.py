"""S3 MFA Delete with the root user's virtual MFA device, created and enabled with
`mamori iam root-mfa` (the console's action: AWS has no API for it), codes computed with
pyotp at the server's manual clock; the seed's flow with the aws CLI and boto3."""

import datetime
import json
import subprocess
import uuid

import pyotp
import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, BINARY, SECRET_KEY, Server, next_totp_step

ACCOUNT = "000000000000"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"


@pytest.fixture(scope="module")
def srv():
    """A manual-clock server of this module's own: root's device is one per account."""
    s = Server("--clock", "manual", name="mfa-delete")
    yield s
    s.stop()


def code(totp, srv, offset=0):
    return totp.at(srv.now() + datetime.timedelta(seconds=offset))


def root_mfa(srv, *args, check=True):
    proc = subprocess.run([str(BINARY), "iam", "root-mfa", *args, "--endpoint", srv.url],
                          capture_output=True, text=True, timeout=30,
                          env={"MAMORI_ACCESS_KEY_ID": ACCESS_KEY, "MAMORI_SECRET_ACCESS_KEY": SECRET_KEY})
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def err(exc):
    e = exc.value.response
    return e["Error"]["Code"], e["Error"]["Message"]


def cli_error(proc):
    assert proc.returncode != 0
    return proc.stderr


@pytest.fixture(scope="module")
def totp(srv, tmp_path_factory):
    seed_file = tmp_path_factory.mktemp("mfa") / "seed"
    out = root_mfa(srv, "create", "--seed-file", str(seed_file)).stdout
    assert f"SerialNumber: {SERIAL}" in out
    seed = seed_file.read_text().strip()
    assert f"Base32StringSeed: {seed}" in out
    assert f"otpauth://totp/root-account-mfa-device@{ACCOUNT}?secret={seed}" in out
    # Until it is enabled, creating again starts afresh with a new seed, as the console does.
    root_mfa(srv, "create", "--seed-file", str(seed_file))
    seed = seed_file.read_text().strip()
    t = pyotp.TOTP(seed)
    bad = root_mfa(srv, "enable", "000000", "111111", check=False)
    assert "InvalidAuthenticationCode" in cli_error(bad)
    next_totp_step(srv)
    root_mfa(srv, "enable", code(t, srv, -30), code(t, srv))
    return t


def test_root_device_is_the_consoles_and_listed_for_root(srv, totp):
    iam = srv.client("iam")
    devices = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    root = [d for d in devices if d["SerialNumber"] == SERIAL]
    assert len(root) == 1 and root[0]["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root[0]["User"]["UserId"] == ACCOUNT
    assert [d["SerialNumber"] for d in iam.list_mfa_devices()["MFADevices"]] == [SERIAL]
    # The API cannot create, enable or deactivate root's device: only the console can.
    with pytest.raises(ClientError) as e:
        iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    assert err(e)[0] == "InvalidInput"
    with pytest.raises(ClientError) as e:
        iam.deactivate_mfa_device(SerialNumber=SERIAL, UserName="root")
    assert err(e)[0] == "NoSuchEntity"
    # Enabling went through the dispatcher: CloudTrail has it with userIdentity Root.
    ct = srv.client("cloudtrail")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "EnableMFADevice"}])
    records = [json.loads(e["CloudTrailEvent"]) for e in events["Events"]]
    ok = [r for r in records if "errorCode" not in r]
    assert ok and ok[0]["userIdentity"]["type"] == "Root"
    assert ok[0]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert ok[0]["requestParameters"]["serialNumber"] == SERIAL
    # GetSessionToken as root with root's device.
    next_totp_step(srv)
    creds = srv.client("sts").get_session_token(SerialNumber=SERIAL, TokenCode=code(totp, srv))["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")


def test_mfa_delete_flow_with_the_cli(srv, totp):
    s3 = srv.client("s3")
    bucket = f"mfa-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    conf = "Status=Enabled,MFADelete=Enabled"
    # Without --mfa, and with a wrong code, S3 refuses.
    proc = srv.aws("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", conf, check=False)
    assert "AccessDenied" in cli_error(proc) and "Mfa Authentication must be used for this request" in proc.stderr
    proc = srv.aws("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", conf,
                   "--mfa", f"{SERIAL} 000000", check=False)
    assert "AccessDenied" in cli_error(proc)
    proc = srv.aws("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", conf,
                   "--mfa", "no-space-here", check=False)
    assert "InvalidArgument" in cli_error(proc)
    next_totp_step(srv)
    srv.aws("s3api", "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", conf,
            "--mfa", f"{SERIAL} {code(totp, srv)}")
    assert srv.aws("s3api", "get-bucket-versioning", "--bucket", bucket) == {"Status": "Enabled", "MFADelete": "Enabled"}

    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    # A plain delete only adds a delete marker: no MFA needed.
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    # Permanently deleting a version needs the code.
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    assert err(e) == ("AccessDenied", "Mfa Authentication must be used for this request")
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=v1, MFA=f"{SERIAL} 000000")
    assert err(e)[0] == "AccessDenied"
    # DeleteObjects with a version and no code fails as a whole.
    with pytest.raises(ClientError) as e:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v2}, {"Key": "other"}]})
    assert err(e)[0] == "AccessDenied"
    next_totp_step(srv)
    valid = f"{SERIAL} {code(totp, srv)}"
    out = srv.aws("s3api", "delete-object", "--bucket", bucket, "--key", "k", "--version-id", v1, "--mfa", valid)
    assert out["VersionId"] == v1
    # The code was used: the same one is refused.
    with pytest.raises(ClientError) as e:
        s3.delete_object(Bucket=bucket, Key="k", VersionId=v2, MFA=valid)
    assert err(e)[0] == "AccessDenied"
    next_totp_step(srv)
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v2}]},
                            MFA=f"{SERIAL} {code(totp, srv)}")
    assert [d["VersionId"] for d in out["Deleted"]] == [v2]
    versions = s3.list_object_versions(Bucket=bucket)
    assert "Versions" not in versions and len(versions["DeleteMarkers"]) == 1
    # Changing the versioning state now needs the code too.
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert err(e)[0] == "AccessDenied"
    next_totp_step(srv)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"},
                             MFA=f"{SERIAL} {code(totp, srv)}")
    assert s3.get_bucket_versioning(Bucket=bucket)["MFADelete"] == "Disabled"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])


def test_iam_user_cannot_enable_mfa_delete(srv, totp):
    iam = srv.client("iam")
    user = f"admin-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    s3 = srv.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    bucket = f"mfa-user-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    next_totp_step(srv)
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
                                 MFA=f"{SERIAL} {code(totp, srv)}")
    assert err(e) == ("InvalidRequest", "DevPay and Mfa are mutually exclusive authorization methods.")
    assert "MFADelete" not in srv.client("s3").get_bucket_versioning(Bucket=bucket)


def test_deactivate_removes_root_device(srv, totp):
    # Last in the module: the other tests need the device.
    root_mfa(srv, "deactivate")
    iam = srv.client("iam")
    serials = [d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    assert SERIAL not in serials
    bucket = f"mfa-gone-{uuid.uuid4().hex[:8]}"
    srv.client("s3").create_bucket(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        srv.client("s3").put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"},
            MFA=f"{SERIAL} {code(totp, srv)}")
    assert err(e)[0] == "AccessDenied"
