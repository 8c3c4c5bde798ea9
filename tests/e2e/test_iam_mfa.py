"""IAM virtual MFA devices with real TOTP codes (computed here with pyotp at the server's
manual clock), STS sessions with MFA, policies on aws:MultiFactorAuthPresent and
aws:MultiFactorAuthAge, CloudTrail's mfaAuthenticated, instance profiles and access keys' last use."""

import base64
import datetime
import json
import time
import uuid

import pyotp
import pytest

from conftest import next_totp_step
from botocore.exceptions import ClientError


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"]["Message"]


def code(totp, srv, offset=0):
    return totp.at(srv.now() + datetime.timedelta(seconds=offset))


def user_with_device(srv, iam, policy):
    name = uniq("mfa")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Tags=[{"Key": "k", "Value": "v"}])
    dev = dev["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    next_totp_step(srv)
    iam.enable_mfa_device(UserName=name, SerialNumber=dev["SerialNumber"],
                          AuthenticationCode1=code(totp, srv, -30), AuthenticationCode2=code(totp, srv))
    return name, key, dev["SerialNumber"], totp


def client(srv, service, c):
    return srv.client(service, aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                      aws_session_token=c.get("SessionToken"))


def test_virtual_device_lifecycle_and_errors(manual_server):
    srv = manual_server
    iam = srv.client("iam")
    name = uniq("dev")
    iam.create_user(UserName=name)
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/")["VirtualMFADevice"]
    serial = dev["SerialNumber"]
    assert serial == f"arn:aws:iam::000000000000:mfa/team/{name}"
    seed = dev["Base32StringSeed"].decode()
    assert len(seed) == 64 and base64.b32decode(seed)
    assert dev["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ClientError) as e:
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name, Path="/team/")
    assert err(e)[0] == "EntityAlreadyExists"
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert serial in [d["SerialNumber"] for d in unassigned]
    totp = pyotp.TOTP(seed)
    next_totp_step(srv)
    # Wrong codes, and two codes that are not consecutive, are refused.
    for c1, c2 in [("000000", "000000"), (code(totp, srv), code(totp, srv, -30))]:
        with pytest.raises(ClientError) as e:
            iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=c1, AuthenticationCode2=c2)
        assert err(e) == ("InvalidAuthenticationCode", "Authentication code for device is not valid.")
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName="nobody-" + name, SerialNumber=serial,
                              AuthenticationCode1="111111", AuthenticationCode2="222222")
    assert err(e)[0] == "NoSuchEntity"
    iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                          AuthenticationCode1=code(totp, srv, -30), AuthenticationCode2=code(totp, srv))
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                              AuthenticationCode1=code(totp, srv, -30), AuthenticationCode2=code(totp, srv))
    assert err(e) == ("EntityAlreadyExists", "MFA Device is already in use.")
    listed = iam.list_mfa_devices(UserName=name)["MFADevices"]
    assert [(d["UserName"], d["SerialNumber"]) for d in listed] == [(name, serial)]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = next(d for d in assigned if d["SerialNumber"] == serial)
    assert mine["User"]["UserName"] == name and "EnableDate" in mine and "Base32StringSeed" not in mine
    assert iam.get_mfa_device(SerialNumber=serial)["UserName"] == name
    # Resync takes two fresh consecutive codes.
    srv.advance(90)
    iam.resync_mfa_device(UserName=name, SerialNumber=serial,
                          AuthenticationCode1=code(totp, srv, -30), AuthenticationCode2=code(totp, srv))
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "team", "Value": "sec"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "team", "Value": "sec"}]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["team"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == []
    # In use: the device cannot be deleted, nor the user.
    with pytest.raises(ClientError) as e:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert err(e) == ("DeleteConflict", "MFA VirtualDevice in use. Must deactivate first.")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert err(e) == ("DeleteConflict", "Cannot delete entity, must remove MFA device first.")
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=name)["MFADevices"] == []
    with pytest.raises(ClientError) as e:
        iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    assert err(e)[0] == "NoSuchEntity"
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with pytest.raises(ClientError) as e:
        iam.get_mfa_device(SerialNumber=serial)
    assert err(e)[0] == "NoSuchEntity"
    iam.delete_user(UserName=name)


def test_mfa_session_satisfies_multi_factor_conditions(manual_server):
    srv = manual_server
    iam = srv.client("iam")
    policy = doc(
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}}})
    name, key, serial, totp = user_with_device(srv, iam, policy)
    long_term = client(srv, "iam", {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]})
    sts = client(srv, "sts", {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]})
    # No MFA: the long-term key and a plain session are both denied.
    with pytest.raises(ClientError) as e:
        long_term.list_users()
    assert err(e)[0] == "AccessDenied"
    plain = sts.get_session_token()["Credentials"]
    with pytest.raises(ClientError) as e:
        client(srv, "iam", plain).list_users()
    assert err(e)[0] == "AccessDenied"
    # A wrong code, or half of the pair, is AccessDenied.
    srv.advance(30)
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode="123456" if code(totp, srv) != "123456" else "654321")
    assert err(e) == ("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code. ")
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial)
    assert err(e)[0] == "AccessDenied"
    good = code(totp, srv)
    with_mfa = sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"]
    mfa_iam = client(srv, "iam", with_mfa)
    assert name in [u["UserName"] for u in mfa_iam.list_users()["Users"]]
    # The same code is good once.
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode=good)
    assert err(e)[0] == "AccessDenied"
    # CloudTrail shows the session as MFA-authenticated.
    rid = mfa_iam.list_users()["ResponseMetadata"]["RequestId"]
    ct = srv.client("cloudtrail")
    rec = None
    for _ in range(50):
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": name}])["Events"]
        recs = [json.loads(ev["CloudTrailEvent"]) for ev in events]
        rec = next((r for r in recs if r["requestID"] == rid), None)
        if rec:
            break
        time.sleep(0.05)
    assert rec, "the call reached CloudTrail"
    assert rec["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"
    # aws:MultiFactorAuthAge grows with the clock: an hour later the deny applies.
    srv.advance(3700)
    with pytest.raises(ClientError) as e:
        mfa_iam.list_users()
    assert "explicit deny" in err(e)[1]


def test_assume_role_with_mfa_in_the_trust_policy(manual_server):
    srv = manual_server
    iam = srv.client("iam")
    policy = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    name, key, serial, totp = user_with_device(srv, iam, policy)
    role = uniq("mfa-role")
    trust = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                 "Action": "sts:AssumeRole", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
         "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}))
    sts = client(srv, "sts", {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]})
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="sess")
    assert err(e)[0] == "AccessDenied"
    srv.advance(30)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="sess", SerialNumber=serial, TokenCode="000000"
                        if code(totp, srv) != "000000" else "111111")
    assert err(e)[0] == "AccessDenied"
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="sess", SerialNumber=serial,
                            TokenCode=code(totp, srv))["Credentials"]
    roles = client(srv, "iam", creds).list_roles()["Roles"]
    assert role in [r["RoleName"] for r in roles]


def test_instance_profiles(server):
    iam = server.client("iam")
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    role, other = uniq("ec2-role"), uniq("ec2-role")
    for r in (role, other):
        iam.create_role(RoleName=r, AssumeRolePolicyDocument=trust)
    name = uniq("profile")
    created = iam.create_instance_profile(InstanceProfileName=name, Path="/app/",
                                          Tags=[{"Key": "env", "Value": "prod"}])["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::000000000000:instance-profile/app/{name}"
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    with pytest.raises(ClientError) as e:
        iam.create_instance_profile(InstanceProfileName=name)
    assert err(e)[0] == "EntityAlreadyExists"
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    # One role per profile.
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=other)
    assert err(e) == ("LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=name + "-missing", RoleName=role)
    assert err(e) == ("NoSuchEntity", f"Instance Profile {name}-missing cannot be found.")
    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == [role]
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}]
    listed = iam.list_instance_profiles(PathPrefix="/app/")["InstanceProfiles"]
    assert name in [p["InstanceProfileName"] for p in listed]
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]] == [name]
    assert iam.list_instance_profiles_for_role(RoleName=other)["InstanceProfiles"] == []
    # The role cannot go while in the profile, nor the profile while it holds the role.
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName=role)
    assert err(e) == ("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
    with pytest.raises(ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName=name)
    assert err(e)[0] == "DeleteConflict"
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    detail = next(r for r in details if r["RoleName"] == role)
    assert [p["InstanceProfileName"] for p in detail["InstanceProfileList"]] == [name]
    iam.tag_instance_profile(InstanceProfileName=name, Tags=[{"Key": "team", "Value": "sec"}])
    iam.untag_instance_profile(InstanceProfileName=name, TagKeys=["env"])
    assert iam.list_instance_profile_tags(InstanceProfileName=name)["Tags"] == [{"Key": "team", "Value": "sec"}]
    with pytest.raises(ClientError) as e:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=other)
    assert err(e)[0] == "NoSuchEntity"
    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    iam.delete_role(RoleName=role)
    iam.delete_instance_profile(InstanceProfileName=name)
    with pytest.raises(ClientError) as e:
        iam.get_instance_profile(InstanceProfileName=name)
    assert err(e)[0] == "NoSuchEntity"
    # The aws CLI sees the same.
    cli = server.aws("iam", "create-instance-profile", "--instance-profile-name", name + "-cli")
    assert cli["InstanceProfile"]["InstanceProfileName"] == name + "-cli"
    server.aws("iam", "delete-instance-profile", "--instance-profile-name", name + "-cli")


def test_access_key_last_used(server):
    iam = server.client("iam")
    name = uniq("used")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    got = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert got["UserName"] == name
    assert got["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}
    creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    client(server, "sts", creds).get_caller_identity()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("sts", "us-east-1")
    assert used["LastUsedDate"] >= before
    # The use is noted when the call is authorized, so a denied call counts too.
    with pytest.raises(ClientError):
        client(server, "iam", creds).list_users()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "iam"


def test_simulation_takes_the_resource_policy(server):
    iam = server.client("iam")
    topic = "arn:aws:sns:us-east-1:111122223333:t"
    caller = "arn:aws:iam::000000000000:user/alice"
    identity = doc({"Effect": "Allow", "Action": "sns:Publish", "Resource": "*"})

    def decide(resource_policy=None, owner=None):
        kw = {"ResourcePolicy": resource_policy} if resource_policy else {}
        if owner:
            kw["ResourceOwner"] = owner
        out = iam.simulate_custom_policy(PolicyInputList=[identity], ActionNames=["sns:Publish"],
                                         ResourceArns=[topic], CallerArn=caller, **kw)
        return out["EvaluationResults"][0]["EvalDecision"]

    grant = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"}, "Action": "sns:Publish",
         "Resource": topic}]})
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish", "Resource": topic}]})
    assert decide() == "allowed"
    assert decide(deny) == "explicitDeny"
    # Another account's resource needs its policy to allow.
    assert decide(owner="arn:aws:iam::111122223333:root") == "implicitDeny"
    assert decide(grant, owner="111122223333") == "allowed"
    with pytest.raises(ClientError) as e:
        decide(owner="nobody")
    assert err(e)[0] == "InvalidInput"


def test_devices_and_key_use_survive_kill_9(fresh_server):
    srv = fresh_server
    iam = srv.client("iam")
    name = uniq("durable")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    now = datetime.datetime.now(datetime.timezone.utc)
    iam.enable_mfa_device(UserName=name, SerialNumber=dev["SerialNumber"],
                          AuthenticationCode1=totp.at(now - datetime.timedelta(seconds=30)),
                          AuthenticationCode2=totp.at(now))
    creds = {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}
    client(srv, "sts", creds).get_caller_identity()
    assert iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]["ServiceName"] == "sts"
    srv.restart()
    iam = srv.client("iam")
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName=name)["MFADevices"]] == [dev["SerialNumber"]]
    assert iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]["ServiceName"] == "sts"
    # The code used to enable is spent; the next step's code opens a session.
    time.sleep(30 - time.time() % 30 + 0.2)
    c = totp.now()
    got = client(srv, "sts", creds).get_session_token(SerialNumber=dev["SerialNumber"], TokenCode=c)
    assert got["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_oidc_providers(server):
    iam = server.client("iam")
    host = f"{uniq('idp')}.example.com"
    thumb = "a" * 40
    arn = iam.create_open_id_connect_provider(Url=f"https://{host}", ClientIDList=["sts.amazonaws.com"],
                                              ThumbprintList=[thumb])["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::000000000000:oidc-provider/{host}"
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ThumbprintList=[thumb])
    assert err(e)[0] == "EntityAlreadyExists"
    for bad in [dict(Url=f"http://{host}", ThumbprintList=[thumb]), dict(Url=f"https://x.{host}", ThumbprintList=["z" * 40])]:
        with pytest.raises(ClientError) as e:
            iam.create_open_id_connect_provider(**bad)
        assert err(e)[0] == "InvalidInput"
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["Url"], got["ClientIDList"], got["ThumbprintList"]) == (host, ["my-app"], ["b" * 40])
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert err(e)[0] == "NoSuchEntity"
