"""IAM, STS and enforcement end to end through boto3 and the aws CLI."""

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


def uniq(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


def user_client(srv, iam, name, service="iam"):
    """Creates user `name` (if needed) with an access key; returns a client signing as it."""
    try:
        iam.create_user(UserName=name)
    except ClientError:
        pass
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return srv.client(service, aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"]), key


def test_user_crud_ids_and_errors(server):
    iam = server.client("iam")
    name = uniq("alice")
    u = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])["User"]
    assert u["UserId"].startswith("AIDA") and len(u["UserId"]) == 21
    assert u["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    got = iam.get_user(UserName=name)["User"]
    assert got["Tags"] == [{"Key": "k", "Value": "v"}] and got["Path"] == "/team/"
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=name)
    assert err(e)[0] == "EntityAlreadyExists" and err(e)[2] == 409
    with pytest.raises(ClientError) as e:
        iam.get_user(UserName="nobody-" + name)
    assert err(e)[:2] == ("NoSuchEntity", f"The user with name nobody-{name} cannot be found.")
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="bad name!")
    assert err(e)[0] == "ValidationError" and "[\\w+=,.@-]+" in err(e)[1]
    names = {x["UserName"] for x in iam.list_users(PathPrefix="/team/")["Users"]}
    assert name in names
    # Pagination.
    for n in range(3):
        iam.create_user(UserName=f"{name}-p{n}", Path="/pages/")
    page = iam.list_users(PathPrefix="/pages/", MaxItems=2)
    assert page["IsTruncated"] and len(page["Users"]) == 2
    rest = iam.list_users(PathPrefix="/pages/", Marker=page["Marker"])
    assert len(page["Users"]) + len(rest["Users"]) >= 3
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError):
        iam.get_user(UserName=name)


def test_managed_policy_versions_and_delete_conflict(server):
    iam = server.client("iam")
    pname = uniq("pol")
    arn = iam.create_policy(PolicyName=pname, PolicyDocument=doc(allow("s3:GetObject")))["Policy"]["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{pname}"
    for n in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow(f"s3:Get{n}")),
                                      SetAsDefault=(n == 5))["PolicyVersion"]
        assert v["VersionId"] == f"v{n}"
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("s3:X")))
    assert err(e)[0] == "LimitExceeded"
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v5")["PolicyVersion"]
    assert got["Document"]["Statement"][0]["Action"] == "s3:Get5"  # botocore decodes it
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
    assert err(e)[0] == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v5", "v4", "v3", "v1"]
    user = uniq("holder")
    iam.create_user(UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert err(e)[0] == "DeleteConflict"
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)


def test_aws_managed_policies_exist(server):
    iam = server.client("iam")
    names = {p["PolicyName"] for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"]}
    for n in ["AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "IAMFullAccess",
              "AWSCloudTrail_FullAccess", "CloudWatchFullAccess", "CloudWatchLogsFullAccess",
              "AmazonSNSFullAccess", "AmazonS3FullAccess"]:
        assert n in names
    p = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]
    v = iam.get_policy_version(PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])["PolicyVersion"]
    assert v["Document"]["Statement"][0]["Action"] == "*"


def test_bad_policies_get_iam_errors(server):
    iam = server.client("iam")
    user = uniq("bad")
    iam.create_user(UserName=user)
    cases = [
        ("{not json", "MalformedPolicyDocument", "Syntax errors in policy."),
        (doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
              "Condition": {"StringEqualz": {"aws:username": "x"}}}), "MalformedPolicyDocument", "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17", "Statement": {"Action": "s3:*", "Resource": "*"}}),
         "MalformedPolicyDocument", "Missing required field Effect"),
        (doc(*[allow(f"s3:GetObject{n:04}") for n in range(120)]), "LimitExceeded", None),
    ]
    for policy, code, message in cases:
        with pytest.raises(ClientError) as e:
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy)
        assert err(e)[0] == code, (policy[:60], err(e))
        if message:
            assert err(e)[1] == message
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName=uniq("big"), PolicyDocument=doc(*[allow(f"s3:GetObject{n:04}") for n in range(400)]))
    assert err(e)[0] == "LimitExceeded"
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName=uniq("r"), AssumeRolePolicyDocument=doc(allow("s3:*")))
    assert err(e)[0] == "MalformedPolicyDocument"


def test_enforcement_allow_deny_boundary(server):
    iam = server.client("iam")
    name = uniq("enf")
    client, _ = user_client(server, iam, name)
    # No policy: denied, with AWS's message, as a 403 AccessDenied.
    with pytest.raises(ClientError) as e:
        client.list_users()
    code, msg, status = err(e)
    assert (code, status) == ("AccessDenied", 403)
    assert msg == (f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: "
                   f"iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/ because no "
                   "identity-based policy allows the iam:ListUsers action")
    # GetCallerIdentity is never denied.
    sts = server.client("sts", aws_access_key_id=client._request_signer._credentials.access_key,
                        aws_secret_access_key=client._request_signer._credentials.secret_key)
    me = sts.get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}" and me["UserId"].startswith("AIDA")
    # An attached policy allows.
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert any(u["UserName"] == name for u in client.list_users(MaxItems=1000)["Users"])
    # An explicit deny wins.
    iam.put_user_policy(UserName=name, PolicyName="no-list", PolicyDocument=doc(deny("iam:ListUsers")))
    with pytest.raises(ClientError) as e:
        client.list_users()
    assert err(e)[1].endswith("with an explicit deny in an identity-based policy")
    iam.delete_user_policy(UserName=name, PolicyName="no-list")
    client.list_users()
    # A permissions boundary limits: IAMFullAccess attached, boundary allows only Get*.
    bname = uniq("boundary")
    barn = iam.create_policy(PolicyName=bname, PolicyDocument=doc(allow("iam:Get*")))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=barn)
    client.get_user(UserName=name)
    with pytest.raises(ClientError) as e:
        client.list_users()
    assert err(e)[1].endswith("because no permissions boundary allows the iam:ListUsers action")
    iam.delete_user_permissions_boundary(UserName=name)
    client.list_users()
    # Group policies count.
    g = uniq("grp")
    iam.create_group(GroupName=g)
    iam.put_group_policy(GroupName=g, PolicyName="deny-roles", PolicyDocument=doc(deny("iam:ListRoles")))
    iam.add_user_to_group(GroupName=g, UserName=name)
    with pytest.raises(ClientError):
        client.list_roles()
    iam.remove_user_from_group(GroupName=g, UserName=name)
    client.list_roles()


def test_inactive_key_is_refused(server):
    iam = server.client("iam")
    name = uniq("inactive")
    client, key = user_client(server, iam, name, service="sts")
    assert client.get_caller_identity()["Arn"].endswith(f"user/{name}")
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    with pytest.raises(ClientError) as e:
        client.get_caller_identity()
    assert err(e)[0] == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    client.get_caller_identity()
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError):
        client.get_caller_identity()


def trust(principal):
    return doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


def test_assume_role_trust_session_policy_and_expiry(manual_server):
    srv = manual_server
    iam = srv.client("iam")
    name = uniq("caller")
    sts_user, _ = user_client(srv, iam, name, service="sts")
    role = uniq("role")
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/{name}"),
                               MaxSessionDuration=7200)["Role"]["Arn"]
    other = uniq("other")
    iam.create_role(RoleName=other, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/someone-else"))
    iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    # Without a matching trust policy: denied.
    with pytest.raises(ClientError) as e:
        sts_user.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{other}", RoleSessionName="s1")
    assert err(e)[0] == "AccessDenied" and "sts:AssumeRole" in err(e)[1]
    # Too long for the role.
    with pytest.raises(ClientError) as e:
        sts_user.assume_role(RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=9000)
    assert err(e)[0] == "ValidationError"
    got = sts_user.assume_role(RoleArn=role_arn, RoleSessionName="sess1", DurationSeconds=900)
    c = got["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA") and len(c["AccessKeyId"]) == 20
    assert got["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/sess1"
    assert got["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA") and got["AssumedRoleUser"]["AssumedRoleId"].endswith(":sess1")
    kw = dict(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    role_sts = srv.client("sts", **kw)
    me = role_sts.get_caller_identity()
    assert me["Arn"] == got["AssumedRoleUser"]["Arn"] and me["UserId"] == got["AssumedRoleUser"]["AssumedRoleId"]
    role_iam = srv.client("iam", **kw)
    role_iam.list_roles()
    with pytest.raises(ClientError) as e:
        role_iam.create_user(UserName=uniq("x"))
    assert err(e)[0] == "AccessDenied"
    assert f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/sess1 is not authorized" in err(e)[1]
    # Session policy intersects: only ListRoles stays.
    limited = sts_user.assume_role(RoleArn=role_arn, RoleSessionName="limited", Policy=doc(allow("iam:ListRoles")))["Credentials"]
    lim = srv.client("iam", aws_access_key_id=limited["AccessKeyId"], aws_secret_access_key=limited["SecretAccessKey"],
                     aws_session_token=limited["SessionToken"])
    lim.list_roles()
    with pytest.raises(ClientError) as e:
        lim.list_users()
    assert err(e)[1].endswith("because no session policy allows the iam:ListUsers action")
    # Expiry under the manual clock.
    srv.advance(901)
    with pytest.raises(ClientError) as e:
        role_sts.get_caller_identity()
    assert err(e)[0] in ("InvalidClientTokenId", "ExpiredToken")


def test_get_session_token_and_key_info(server):
    sts = server.client("sts")
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    tmp = server.client("sts", aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                        aws_session_token=c["SessionToken"])
    assert tmp.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert sts.get_access_key_info(AccessKeyId=c["AccessKeyId"])["Account"] == ACCOUNT
    with pytest.raises(ClientError) as e:
        server.client("sts").assume_role_with_web_identity(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/x",
                                                           RoleSessionName="sess", WebIdentityToken="t" * 10)
    assert err(e)[2] == 501


def test_simulate_agrees_with_real_calls(server):
    iam = server.client("iam")
    name = uniq("sim")
    client, _ = user_client(server, iam, name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(allow("iam:List*"), deny("iam:ListRoles")))
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    actions = {"iam:ListUsers": client.list_users, "iam:ListRoles": client.list_roles,
               "iam:ListGroups": client.list_groups, "iam:CreateGroup": lambda: client.create_group(GroupName=uniq("g"))}
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=list(actions))["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in res}
    assert decisions == {"iam:ListUsers": "allowed", "iam:ListRoles": "explicitDeny",
                         "iam:ListGroups": "allowed", "iam:CreateGroup": "implicitDeny"}
    for action, call in actions.items():
        try:
            call()
            real = "allowed"
        except ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied"
            real = "denied"
        assert (real == "allowed") == (decisions[action] == "allowed"), action
    deny_stmt = [r for r in res if r["EvalActionName"] == "iam:ListRoles"][0]["MatchedStatements"]
    assert deny_stmt[0]["SourcePolicyId"] == "p" and deny_stmt[0]["SourcePolicyType"] == "user"
    custom = iam.simulate_custom_policy(PolicyInputList=[doc(allow("s3:Get*"))],
                                        ActionNames=["s3:GetObject", "s3:PutObject"])["EvaluationResults"]
    assert [r["EvalDecision"] for r in custom] == ["allowed", "implicitDeny"]


def test_cli_and_account_details(server):
    name = uniq("cli")
    out = server.aws("iam", "create-user", "--user-name", name)
    assert out["User"]["UserName"] == name
    server.aws("iam", "put-user-policy", "--user-name", name, "--policy-name", "inline",
               "--policy-document", doc(allow("sns:Publish")))
    got = server.aws("iam", "get-user-policy", "--user-name", name, "--policy-name", "inline")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "sns:Publish"
    bad = server.aws("iam", "create-user", "--user-name", name, check=False)
    assert bad.returncode != 0 and "EntityAlreadyExists" in bad.stderr
    details = server.client("iam").get_account_authorization_details()
    u = [x for x in details["UserDetailList"] if x["UserName"] == name][0]
    assert u["UserPolicyList"][0]["PolicyName"] == "inline"


def test_password_policy_and_login_profile(server):
    iam = server.client("iam")
    name = uniq("login")
    iam.create_user(UserName=name)
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True)
    pp = iam.get_account_password_policy()["PasswordPolicy"]
    assert pp["MinimumPasswordLength"] == 14 and pp["RequireSymbols"]
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName=name, Password="short1!")
    assert err(e)[0] == "PasswordPolicyViolation"
    iam.create_login_profile(UserName=name, Password="a-long-password-1!", PasswordResetRequired=True)
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"]
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName=name)
    assert err(e)[0] == "DeleteConflict"
    iam.delete_login_profile(UserName=name)
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as e:
        iam.get_account_password_policy()
    assert err(e)[0] == "NoSuchEntity"


def test_root_assumes_role_trusting_the_account(server):
    iam = server.client("iam")
    role = uniq("acct-role")
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust(ACCOUNT))["Role"]["Arn"]
    got = server.client("sts").assume_role(RoleArn=arn, RoleSessionName="root-session")
    assert got["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{role}/root-session")
    with pytest.raises(ClientError) as e:
        server.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/missing-{role}", RoleSessionName="x1")
    assert err(e)[0] == "AccessDenied"
