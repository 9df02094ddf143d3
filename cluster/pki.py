"""The cluster's certificates, keys and kubeconfigs, made with `cryptography`.

One CA signs everything: the API server's serving certificate (NODE_IP, the
`kubernetes` Service's address, loopback and the Service's names), the kubelet's, and a
client certificate per component (its user and groups are what RBAC and the Node
authorizer see). The service-account tokens are signed by a key of their own. Files are
kept across `cluster down`; one is made again when it is missing, expires within 30
days, is not signed by the CA, or no longer has the names it needs.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cluster.config import CLUSTER_DOMAIN, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME, WorkDir, api_server_url
from cluster.state import write_private

VALIDITY: Final = datetime.timedelta(days=365)
RENEW_BEFORE: Final = datetime.timedelta(days=30)
CA_NAME: Final = "ca"
SERVICE_ACCOUNT_KEY: Final = "service-account"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class CertSpec:
    name: str
    """File stem: <name>.crt and <name>.key."""
    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    server: bool = False
    client: bool = False


API_SERVER: Final = CertSpec(
    "apiserver",
    "kube-apiserver",
    dns_names=(
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
        "localhost",
        NODE_NAME,
    ),
    ip_addresses=(NODE_IP, KUBERNETES_SERVICE_IP, "127.0.0.1"),
    server=True,
)
API_SERVER_KUBELET_CLIENT: Final = CertSpec(
    "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",), client=True
)
KUBELET_SERVING: Final = CertSpec(
    "kubelet-serving", NODE_NAME, dns_names=(NODE_NAME, "localhost"), ip_addresses=(NODE_IP, "127.0.0.1"), server=True
)

KUBECONFIG_USERS: Final = {
    "admin": CertSpec("admin", "kubernetes-admin", ("system:masters",), client=True),
    "controller-manager": CertSpec("controller-manager", "system:kube-controller-manager", client=True),
    "scheduler": CertSpec("scheduler", "system:kube-scheduler", client=True),
    "kubelet": CertSpec("kubelet", f"system:node:{NODE_NAME}", ("system:nodes",), client=True),
    "kube-proxy": CertSpec("kube-proxy", "system:kube-proxy", client=True),
    "coredns": CertSpec("coredns", "system:coredns", client=True),
}
"""Who connects to the API server with a kubeconfig, and as which user and groups.
`system:coredns` gets its rights from a ClusterRole that `cluster up` applies."""


@dataclass(frozen=True)
class Pki:
    directory: Path

    def cert(self, name: str) -> Path:
        return self.directory / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    @property
    def ca(self) -> Path:
        return self.cert(CA_NAME)

    @property
    def ca_key(self) -> Path:
        return self.key(CA_NAME)

    @property
    def service_account_key(self) -> Path:
        return self.key(SERVICE_ACCOUNT_KEY)

    @property
    def service_account_public(self) -> Path:
        return self.directory / f"{SERVICE_ACCOUNT_KEY}.pub"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC key")
    return key


def _fresh(cert: x509.Certificate) -> bool:
    return cert.not_valid_after_utc - _now() > RENEW_BEFORE


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    valid_for: datetime.timedelta,
    is_ca: bool,
) -> x509.CertificateBuilder:
    """What every certificate here has: valid from 5 minutes ago (clock skew), a critical
    BasicConstraints and a KeyUsage of signing, plus certificate signing for the CA."""
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + valid_for)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )


def ensure_ca(pki: Pki) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    if pki.ca.is_file() and pki.ca_key.is_file():
        cert = x509.load_pem_x509_certificate(pki.ca.read_bytes())
        if _fresh(cert):
            return cert, _load_key(pki.ca_key)
    key = _new_key()
    name = _name("pgpitr-local-cluster-ca")
    cert = (
        _certificate(name, name, key, valid_for=VALIDITY * 10, is_ca=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(pki.ca_key, _key_pem(key))
    pki.ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # Everything signed by an earlier CA is made again.
    for stale in pki.directory.glob("*.crt"):
        if stale != pki.ca:
            stale.unlink()
    return cert, key


def _wanted_sans(spec: CertSpec) -> set[str]:
    return {f"DNS:{name}" for name in spec.dns_names} | {f"IP:{ipaddress.ip_address(ip)}" for ip in spec.ip_addresses}


def _cert_sans(cert: x509.Certificate) -> set[str]:
    try:
        extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    found = {f"DNS:{name}" for name in extension.get_values_for_type(x509.DNSName)}
    return found | {f"IP:{ip}" for ip in extension.get_values_for_type(x509.IPAddress)}


def _up_to_date(path: Path, spec: CertSpec, ca: x509.Certificate) -> bool:
    if not path.is_file():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return (
        _fresh(cert)
        and cert.issuer == ca.subject
        and cert.subject == _name(spec.common_name, spec.organizations)
        and _cert_sans(cert) == _wanted_sans(spec)
    )


def ensure_cert(pki: Pki, spec: CertSpec, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey) -> bool:
    """Makes <name>.crt and <name>.key unless they are up to date; True if it made them."""
    if _up_to_date(pki.cert(spec.name), spec, ca) and pki.key(spec.name).is_file():
        return False
    key = _new_key()
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if spec.server else []) + (
        [ExtendedKeyUsageOID.CLIENT_AUTH] if spec.client else []
    )
    builder = (
        _certificate(_name(spec.common_name, spec.organizations), ca.subject, key, valid_for=VALIDITY, is_ca=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    alternative_names: list[x509.GeneralName] = [x509.DNSName(name) for name in spec.dns_names]
    alternative_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in spec.ip_addresses]
    if alternative_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alternative_names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    write_private(pki.key(spec.name), _key_pem(key))
    pki.cert(spec.name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return True


def ensure_service_account_key(pki: Pki) -> None:
    if pki.service_account_key.is_file() and pki.service_account_public.is_file():
        return
    key = _new_key()
    write_private(pki.service_account_key, _key_pem(key))
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pki.service_account_public.write_bytes(public)


def kubeconfig(server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, user: str) -> str:
    def encoded(data: bytes) -> str:
        return base64.b64encode(data).decode()

    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "pgpitr-local", "cluster": {"server": server, "certificate-authority-data": encoded(ca_pem)}}
        ],
        "users": [
            {"name": user, "user": {"client-certificate-data": encoded(cert_pem), "client-key-data": encoded(key_pem)}}
        ],
        "contexts": [{"name": "pgpitr-local", "context": {"cluster": "pgpitr-local", "user": user}}],
        "current-context": "pgpitr-local",
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


def ensure_pki(work: WorkDir) -> Pki:
    """Every certificate, key and kubeconfig of the cluster, made where missing or stale."""
    pki = Pki(work.pki)
    pki.directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = ensure_ca(pki)
    for spec in (API_SERVER, API_SERVER_KUBELET_CLIENT, KUBELET_SERVING):
        ensure_cert(pki, spec, ca, ca_key)
    ensure_service_account_key(pki)
    ca_pem = pki.ca.read_bytes()
    for user, spec in KUBECONFIG_USERS.items():
        made = ensure_cert(pki, spec, ca, ca_key)
        path = work.kubeconfig(user)
        if made or not path.is_file():
            content = kubeconfig(
                api_server_url(), ca_pem, pki.cert(spec.name).read_bytes(), pki.key(spec.name).read_bytes(), user
            )
            write_private(path, content)
    return pki
