"""`mamori policy eval` decides a request offline with the authorizer's engine."""

import json
import subprocess

from conftest import BINARY


def run(tmp_path, *args, policies=(), boundary=None):
    cmd = [str(BINARY), "policy", "eval"]
    for n, p in enumerate(policies):
        f = tmp_path / f"p{n}.json"
        f.write_text(json.dumps(p))
        cmd += ["--policy", str(f)]
    if boundary:
        f = tmp_path / "boundary.json"
        f.write_text(json.dumps(boundary))
        cmd += ["--boundary", str(f)]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=30)


def stmt(effect, action, resource="*", **extra):
    return {"Version": "2012-10-17", "Statement": [dict(Effect=effect, Action=action, Resource=resource, **extra)]}


ALICE = ["--principal", "arn:aws:iam::111122223333:user/alice"]


def test_allow_deny_and_boundary(tmp_path):
    read = stmt("Allow", "s3:Get*", "arn:aws:s3:::b/*", Sid="Read")
    ok = run(tmp_path, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k", *ALICE, "--json", policies=[read])
    assert ok.returncode == 0, ok.stderr
    out = json.loads(ok.stdout)
    assert out["decision"] == "Allow" and out["matched"][0]["sid"] == "Read"
    no = run(tmp_path, "--action", "s3:PutObject", "--resource", "arn:aws:s3:::b/k", *ALICE, policies=[read])
    assert no.returncode == 1 and "no identity-based policy allows" in no.stdout
    deny = stmt("Deny", "s3:*", Condition={"StringEquals": {"aws:username": "alice"}})
    d = run(tmp_path, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k", *ALICE, "--json", policies=[read, deny])
    assert json.loads(d.stdout)["decision"] == "ExplicitDeny"
    b = run(tmp_path, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k", *ALICE, policies=[read],
            boundary=stmt("Allow", "s3:List*"))
    assert b.returncode == 1 and "boundary" in b.stdout
    ip = stmt("Allow", "s3:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    inside = run(tmp_path, "--action", "s3:GetObject", *ALICE, "--context", "aws:SourceIp=10.1.2.3", policies=[ip])
    assert inside.returncode == 0, inside.stdout


def test_malformed_policy_is_reported(tmp_path):
    bad = {"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]}
    p = run(tmp_path, "--action", "s3:GetObject", *ALICE, policies=[bad])
    assert p.returncode != 0 and "Missing required field Effect" in p.stderr
