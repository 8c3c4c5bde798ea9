"""End-to-end harness: spawns the built mamori binary on a free port with a fresh data
dir, and hands boto3 clients, an aws CLI runner and admin helpers to the tests."""

import datetime
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("MAMORI_BIN", ROOT / "target" / "debug" / "mamori"))
ACCESS_KEY = "test"
SECRET_KEY = "test"
REGION = "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running mamori process."""

    def __init__(self, *extra_args, name="server"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = tempfile.mkdtemp(prefix=f"mamori-{name}-")
        self.log_path = Path(self.data_dir) / "server.log"
        self.extra_args = list(extra_args)
        self.proc = None
        self.start()

    def start(self):
        args = [str(BINARY), "serve", "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", os.path.join(self.data_dir, "state"), "--log", "info,mamori=debug",
                *self.extra_args]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mamori exited early:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.url + "/_mamori/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mamori did not become healthy:\n{self.log_text()}")

    def kill(self, sig=9):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        self.log.close()

    def restart(self):
        self.kill(9)
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def client(self, service, **kw):
        return boto3.client(
            service, endpoint_url=self.url, region_name=kw.pop("region_name", REGION),
            aws_access_key_id=kw.pop("aws_access_key_id", ACCESS_KEY),
            aws_secret_access_key=kw.pop("aws_secret_access_key", SECRET_KEY),
            config=Config(retries={"max_attempts": 1}), **kw)

    def aws(self, *args, check=True, env=None):
        """Runs the aws CLI; returns parsed JSON output (or the CompletedProcess when
        check is False)."""
        full_env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
                        AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL=self.url, AWS_PAGER="",
                        AWS_MAX_ATTEMPTS="1")
        full_env.update(env or {})
        aws_bin = shutil.which("aws", path=str(Path(sys.executable).parent)) or "aws"
        proc = subprocess.run([aws_bin, "--output", "json", *args], capture_output=True, text=True,
                              env=full_env, timeout=60)
        if not check:
            return proc
        if proc.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    def request(self, method, path, body=b"", headers=None, service="sts", region=REGION,
                secret=SECRET_KEY, access_key=ACCESS_KEY, when=None, sign=True, query=""):
        """Sends a raw request, signed with an independent SigV4 implementation."""
        headers = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        if sign:
            headers = sigv4_headers(method, self.url, path, query, headers, body, service, region,
                                    access_key, secret, when)
        url = self.url + path + (("?" + query) if query else "")
        req = urllib.request.Request(url, data=body if method != "GET" else None, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def admin(self, path, payload=None):
        body = json.dumps(payload or {}).encode()
        status, _, data = self.request("POST", path, body, {"content-type": "application/json"}, service="mamori")
        assert status == 200, data
        return json.loads(data)

    def advance(self, seconds):
        return self.admin("/_mamori/clock", {"advance_seconds": seconds})

    def now(self):
        """The server's clock (manual or real), as an aware datetime."""
        status, _, data = self.request("GET", "/_mamori/clock", sign=False)
        assert status == 200, data
        return datetime.datetime.fromisoformat(json.loads(data)["now"].replace("Z", "+00:00"))


def next_totp_step(srv):
    """Moves a manual clock to the start of the next 30-second TOTP step (a code is good
    once); the server's time then."""
    now = srv.now()
    srv.advance(30 - now.timestamp() % 30 + 0.001)
    return srv.now()


def sigv4_headers(method, base, path, query, headers, body, service, region, access_key, secret, when=None):
    """Signs a request per the SigV4 documentation (written here independently of
    botocore, so the server is checked against the spec, not against one client)."""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    host = urllib.parse.urlsplit(base).netloc
    h = {k.lower(): v for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = sorted(h)
    canonical_headers = "".join(f"{k}:{' '.join(str(h[k]).split())}\n" for k in signed)
    pairs = sorted(
        (urllib.parse.quote(urllib.parse.unquote(k), safe="-_.~"), urllib.parse.quote(urllib.parse.unquote(v), safe="-_.~"))
        for k, _, v in (p.partition("=") for p in query.split("&") if p))
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/~"), canonical_query, canonical_headers,
                           ";".join(signed), payload_hash])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def mac(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = mac(mac(mac(mac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                          f"SignedHeaders={';'.join(signed)}, Signature={signature}")
    return h


_servers = []


@pytest.fixture(scope="session")
def server():
    """A server on the real clock, shared by the session."""
    s = Server(name="real")
    _servers.append(s)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def manual_server():
    """A server on a manual clock, shared by the session; tests move its clock."""
    s = Server("--clock", "manual", name="manual")
    _servers.append(s)
    yield s
    s.stop()


@pytest.fixture
def fresh_server():
    """A server of its own, for tests that restart or kill it."""
    s = Server(name="fresh")
    _servers.append(s)
    yield s
    s.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for s in _servers:
            tail = s.log_text()[-6000:]
            report.sections.append((f"mamori log ({s.url})", tail))
