"""SNS delivery to https endpoints: the endpoint's certificate must chain to a trusted
authority (the Mozilla set, plus the CAs given with --sns-ca-file), as SNS requires."""

import datetime
import ipaddress
import json
import ssl
import tempfile
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import Server
from test_sns import Listener, confirm_by_url, name, verify_signature


def _cert(subject, issuer, key, issuer_key, ca, days=1):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def make_pki(directory):
    """A private CA and a server certificate for 127.0.0.1 signed by it; a second,
    self-signed server certificate that nothing trusts."""
    d = Path(directory)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mamori test CA")])
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    leaf = _cert(leaf_name, ca_name, leaf_key, ca_key, ca=False)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue = _cert(leaf_name, leaf_name, rogue_key, rogue_key, ca=False)
    pem = serialization.Encoding.PEM
    key_pem = lambda k: k.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())  # noqa: E731
    (d / "ca.pem").write_bytes(ca.public_bytes(pem))
    (d / "leaf.pem").write_bytes(leaf.public_bytes(pem) + key_pem(leaf_key))
    (d / "rogue.pem").write_bytes(rogue.public_bytes(pem) + key_pem(rogue_key))
    return d


class TlsListener(Listener):
    def __init__(self, cert_file, statuses=()):
        super().__init__(statuses)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_file)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}/sns"


@pytest.fixture(scope="module")
def pki():
    with tempfile.TemporaryDirectory() as d:
        yield make_pki(d)


@pytest.fixture(scope="module")
def tls_server(pki):
    s = Server("--sns-ca-file", str(pki / "ca.pem"), name="sns-tls")
    yield s
    s.stop()


def test_https_subscription_confirms_and_receives_signed_notifications(tls_server, pki):
    sns = tls_server.client("sns")
    lst = TlsListener(str(pki / "leaf.pem"))
    topic = sns.create_topic(Name=name("tls"))["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=lst.url, ReturnSubscriptionArn=True)["SubscriptionArn"]
    confirm_by_url(lst)
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    sns.publish(TopicArn=topic, Message="over tls", Subject="s")
    note = lst.wait(1, kind="Notification")[0]
    msg = json.loads(note["body"])
    assert msg["Message"] == "over tls"
    verify_signature(msg)


def test_untrusted_certificate_is_never_delivered_to(tls_server, pki):
    sns = tls_server.client("sns")
    rogue = TlsListener(str(pki / "rogue.pem"))
    topic = sns.create_topic(Name=name("rogue"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=rogue.url)
    # The handshake fails on mamori's side, so the confirmation request never arrives;
    # the failure is logged with the endpoint.
    deadline = time.time() + 10
    while not any(rogue.url in line and "UnknownIssuer" in line for line in tls_server.log_text().splitlines()):
        assert time.time() < deadline, "no TLS failure logged"
        time.sleep(0.05)
    assert rogue.of("SubscriptionConfirmation") == []
