"""The adapter's serving certificate: a private CA and a certificate for its Service name.

The API server's aggregator connects to ``prometheus-adapter.<namespace>.svc`` and verifies the
certificate against the APIServices' ``caBundle``. ``up`` generates both with the ``openssl``
command (a new CA per stack, kept in the Secret and reused by later ``up``s) and never writes
the keys to disk outside a temporary directory. Without ``openssl`` the adapter signs its own
certificate and the APIServices skip verification, with a warning.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import tempfile
from pathlib import Path

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes.objects import ADAPTER, Obj, StackOptions, meta, obj
from hpalab.platforms.kubernetes.render_adapter import AdapterTLS

TLS_SECRET = f"{ADAPTER}-tls"
PLACEHOLDER = "<generated on apply>"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _secret(options: StackOptions, data: dict[str, str], *, string: bool = False) -> Obj:
    body = {"stringData": data} if string else {"data": data}
    return obj(
        "v1",
        "Secret",
        meta(options, TLS_SECRET, part=ADAPTER, component="serving-cert"),
        type="kubernetes.io/tls",
        **body,
    )


def placeholder_tls(options: StackOptions) -> AdapterTLS:
    """What ``--dry-run`` shows: the Secret and the caBundle with placeholders, no key."""
    values = dict.fromkeys(("tls.crt", "tls.key", "ca.crt"), PLACEHOLDER)
    secret = _secret(options, values, string=True)
    return AdapterTLS(TLS_SECRET, _b64(PLACEHOLDER.encode()), secret)


def existing_tls(secret: Obj) -> AdapterTLS | None:
    """The TLS settings of a Secret a previous ``up`` created (it is kept, not re-applied)."""
    ca = (secret.get("data") or {}).get("ca.crt")
    return AdapterTLS(TLS_SECRET, ca, None) if ca else None


def _openssl(openssl: str, *args: str, cwd: Path) -> None:
    result = subprocess.run([openssl, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PlatformError(
            f"openssl {args[0]} failed: {result.stderr.strip()}",
            hint="check the openssl installation, or remove it from PATH to let the adapter "
            "sign its own certificate",
        )


def generate_tls(options: StackOptions, *, openssl: str = "openssl", days: int = 825) -> AdapterTLS:
    """A new CA and a serving certificate for the adapter's Service (RSA 2048, ``days`` long).

    Raises:
        PlatformError: ``openssl`` failed.
    """
    host = f"{ADAPTER}.{options.namespace}.svc"
    names = f"DNS:{ADAPTER},DNS:{ADAPTER}.{options.namespace},DNS:{host}"
    with tempfile.TemporaryDirectory(prefix="hpalab-tls-") as folder:
        cwd = Path(folder)
        (cwd / "ext.cnf").write_text(
            f"subjectAltName={names}\nextendedKeyUsage=serverAuth\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
        )
        common = ["-newkey", "rsa:2048", "-nodes", "-sha256"]
        ca_subject = f"/CN=hpalab {options.instance} adapter CA"
        _openssl(openssl, "req", "-x509", *common, "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", str(days), "-subj", ca_subject, cwd=cwd)  # fmt: skip
        _openssl(openssl, "req", *common, "-keyout", "tls.key", "-out", "tls.csr",
                 "-subj", f"/CN={host}", cwd=cwd)  # fmt: skip
        _openssl(openssl, "x509", "-req", "-in", "tls.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", "tls.crt", "-days", str(days), "-sha256",
                 "-extfile", "ext.cnf", cwd=cwd)  # fmt: skip
        files = {name: (cwd / name).read_bytes() for name in ("tls.crt", "tls.key", "ca.crt")}
    secret = _secret(options, {name: _b64(data) for name, data in files.items()})
    return AdapterTLS(TLS_SECRET, _b64(files["ca.crt"]), secret)


def serving_tls(
    existing: Obj | None, options: StackOptions, *, openssl: str = "openssl"
) -> tuple[AdapterTLS | None, str | None]:
    """``(tls, warning)`` for ``up``: the existing Secret's, a new one, or ``None`` (the adapter
    signs its own) with a warning when ``openssl`` is missing."""
    if existing is not None and (kept := existing_tls(existing)) is not None:
        return kept, None
    if shutil.which(openssl) is None:
        return None, (
            "openssl not found: the adapter signs its own serving certificate and the metrics "
            "APIServices skip TLS verification"
        )
    return generate_tls(options, openssl=openssl), None
