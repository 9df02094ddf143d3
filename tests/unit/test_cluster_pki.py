"""The local cluster's certificates: a CA, and leaf certificates it signs that openssl
verifies for their purpose, made again only when out of date."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from cryptography import x509

from cluster.pki import API_SERVER, CertSpec, Pki, ensure_ca, ensure_cert


def openssl_verify(pki: Pki, name: str, purpose: str) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed (Debian package openssl)"
    subprocess.run(
        [openssl, "verify", "-purpose", purpose, "-CAfile", str(pki.ca), str(pki.cert(name))],
        check=True,
        capture_output=True,
    )


def test_leaf_certificates_verify_against_the_ca_for_their_purpose(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    ca, ca_key = ensure_ca(pki)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ensure_cert(pki, API_SERVER, ca, ca_key)
    openssl_verify(pki, API_SERVER.name, "sslserver")
    client = CertSpec("admin", "kubernetes-admin", organizations=("system:masters",), client=True)
    assert ensure_cert(pki, client, ca, ca_key)
    openssl_verify(pki, client.name, "sslclient")
    leaf = x509.load_pem_x509_certificate(pki.cert(client.name).read_bytes())
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_certificates_are_made_again_only_when_out_of_date(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    ca, ca_key = ensure_ca(pki)
    assert ensure_cert(pki, API_SERVER, ca, ca_key)
    assert not ensure_cert(pki, API_SERVER, ca, ca_key), "an up-to-date certificate is kept"
    assert ensure_ca(pki)[0] == ca, "a fresh CA is kept"
    more_names = dataclasses.replace(API_SERVER, dns_names=(*API_SERVER.dns_names, "extra.local"))
    assert ensure_cert(pki, more_names, ca, ca_key), "a changed name list makes it again"
