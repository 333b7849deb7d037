"""The adapter's serving certificate, made with the openssl command."""

import base64
import subprocess

import pytest

from hpalab.platforms.kubernetes.certs import TLS_SECRET, generate_tls, serving_tls
from hpalab.platforms.kubernetes.objects import StackOptions


def test_the_certificate_is_signed_by_its_ca_for_the_service_name(tmp_path):
    tls = generate_tls(StackOptions(namespace="lab"))
    assert tls.secret is not None
    for name, value in tls.secret["data"].items():
        (tmp_path / name).write_bytes(base64.b64decode(value))
    assert tls.ca_bundle_b64 == tls.secret["data"]["ca.crt"]
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", "ca.crt", "tls.crt"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(
        ["openssl", "x509", "-in", "tls.crt", "-noout", "-text"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "DNS:prometheus-adapter.lab.svc" in text and "TLS Web Server Authentication" in text
    assert b"PRIVATE KEY" in (tmp_path / "tls.key").read_bytes()


def test_each_stack_gets_its_own_ca():
    assert generate_tls(StackOptions()).ca_bundle_b64 != generate_tls(StackOptions()).ca_bundle_b64


def test_an_existing_secret_is_reused_and_not_reapplied():
    existing = {
        "metadata": {"name": TLS_SECRET},
        "data": {"ca.crt": "Q0E=", "tls.crt": "", "tls.key": ""},
    }
    tls, warning = serving_tls(existing, StackOptions())
    assert (
        tls is not None and tls.ca_bundle_b64 == "Q0E=" and tls.secret is None and warning is None
    )


def test_without_openssl_the_adapter_signs_its_own_with_a_warning():
    tls, warning = serving_tls(None, StackOptions(), openssl="openssl-not-installed-here")
    assert tls is None and "skip TLS verification" in warning


def test_a_failing_openssl_is_a_platform_error(tmp_path):
    from hpalab.errors import PlatformError

    fake = tmp_path / "openssl"
    fake.write_text("#!/bin/sh\necho 'unable to write random state' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(PlatformError, match="unable to write random state"):
        generate_tls(StackOptions(), openssl=str(fake))
