"""The cluster's certificates, keys and kubeconfigs, made with ``cryptography``.

Layout under ``<state>/pki`` (kubeadm's names): the cluster CA, the apiserver's serving
certificate, its client certificate for kubelets, the service-account key pair, the
front-proxy CA and client (API aggregation), and the kubelet's serving certificate. Each
component gets a kubeconfig with its own client certificate: ``admin`` (system:masters, the
one users get), ``controller-manager``, ``scheduler``, ``kubelet`` (system:node:NODE) and
``kube-proxy``. Existing files are kept, so a second ``up`` reuses the cluster's identity.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hpalab.cluster.config import CLUSTER_DOMAIN, NODE_NAME, ClusterConfig

VALID_DAYS = 365
Key = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Pair:
    cert: x509.Certificate
    key: Key


def _key() -> Key:
    return ec.generate_private_key(ec.SECP256R1())


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: x509.Name, issuer: x509.Name, key: Key) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
    )


def make_ca(cn: str) -> Pair:
    key = _key()
    cert = (
        _builder(_name(cn), _name(cn), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Pair(cert, key)


def issue(
    ca: Pair,
    cn: str,
    *,
    orgs: tuple[str, ...] = (),
    server: bool = False,
    dns: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
) -> Pair:
    """A leaf certificate signed by ``ca``: a client certificate, or a serving one."""
    key = _key()
    usage = [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
    builder = (
        _builder(_name(cn, orgs), ca.cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    )
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Pair(builder.sign(ca.key, hashes.SHA256()), key)


def _cert_pem(pair: Pair) -> bytes:
    return pair.cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Key | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _save(directory: Path, stem: str, pair: Pair) -> None:
    _write(directory / f"{stem}.crt", _cert_pem(pair))
    _write(directory / f"{stem}.key", _key_pem(pair.key), secret=True)


def _load(directory: Path, stem: str) -> Pair:
    cert = x509.load_pem_x509_certificate((directory / f"{stem}.crt").read_bytes())
    key = serialization.load_pem_private_key((directory / f"{stem}.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Pair(cert, key)


def kubeconfig(*, server: str, ca_pem: bytes, client: Pair, user: str) -> str:
    """A kubeconfig with one cluster, one user (client certificate) and one context."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "hpalab",
                "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": b64(_cert_pem(client)),
                    "client-key-data": b64(_key_pem(client.key)),
                },
            }
        ],
        "contexts": [{"name": "hpalab", "context": {"cluster": "hpalab", "user": user}}],
        "current-context": "hpalab",
    }
    return yaml.safe_dump(doc, sort_keys=False)


# Component kubeconfigs: file stem → (common name, organisations).
CLIENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "admin": ("kubernetes-admin", ("system:masters",)),
    "controller-manager": ("system:kube-controller-manager", ()),
    "scheduler": ("system:kube-scheduler", ()),
    "kubelet": (f"system:node:{NODE_NAME}", ("system:nodes",)),
    "kube-proxy": ("system:kube-proxy", ()),
}


def ensure(config: ClusterConfig) -> None:
    """Create whatever of the cluster's PKI and kubeconfigs is missing."""
    pki = config.path("pki")
    if not (pki / "ca.crt").is_file():
        _save(pki, "ca", make_ca("hpalab-ca"))
        _save(pki, "front-proxy-ca", make_ca("hpalab-front-proxy-ca"))
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write(pki / "sa.key", _key_pem(sa), secret=True)
        public = sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        _write(pki / "sa.pub", public)
    ca = _load(pki, "ca")
    if not (pki / "apiserver.crt").is_file():
        dns: tuple[str, ...] = ("kubernetes", "kubernetes.default", "kubernetes.default.svc")
        dns += (f"kubernetes.default.svc.{CLUSTER_DOMAIN}", "localhost", NODE_NAME)
        ips = (config.node_ip, config.kubernetes_service_ip, "127.0.0.1")
        _save(pki, "apiserver", issue(ca, "kube-apiserver", server=True, dns=dns, ips=ips))
        client = issue(ca, "kube-apiserver-kubelet-client", orgs=("system:masters",))
        _save(pki, "apiserver-kubelet-client", client)
        front = _load(pki, "front-proxy-ca")
        _save(pki, "front-proxy-client", issue(front, "front-proxy-client"))
        serving = issue(ca, NODE_NAME, server=True, dns=(NODE_NAME,), ips=(config.node_ip,))
        _save(pki, "kubelet-serving", serving)
    ca_pem = _cert_pem(ca)
    for stem, (cn, orgs) in CLIENTS.items():
        target = config.kubeconfig if stem == "admin" else config.path(f"{stem}.kubeconfig")
        if not target.is_file():
            text = kubeconfig(
                server=config.server, ca_pem=ca_pem, client=issue(ca, cn, orgs=orgs), user=cn
            )
            _write(target, text.encode(), secret=True)
