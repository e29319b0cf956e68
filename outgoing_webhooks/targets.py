"""Where a webhook may be sent: http(s) URLs of public hosts only, unless the deployment allows private ones.

A subscription's URL is checked when it is saved and again, with a fresh DNS answer, before every delivery;
the request then goes to the address that was checked (`Target.address`), never to a second DNS answer, so
a name that later points inside the network (rebinding), or a redirect (never followed), reaches nothing
private: loopback, private ranges, link-local (cloud metadata), multicast, reserved and unspecified addresses.
"""

import ipaddress
import socket
from dataclasses import dataclass
from typing import Iterable, List
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The URL is not one webhooks may be sent to; the message says why."""


def check_url(url: str) -> str:
    """The URL if its form is acceptable (scheme, host, no credentials); raises TargetRefused."""
    if not isinstance(url, str) or len(url) > 2000:
        raise TargetRefused("the URL must be text of at most 2,000 characters")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http(s) URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry credentials: the signature authenticates the sender")
    return url.strip()


@dataclass(frozen=True)
class Target:
    """A checked URL: the address to connect to, and the name the request and the certificate carry."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # with the query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == (443 if self.scheme == "https" else 80) else f"{host}:{self.port}"


def check_target(url: str, allow_private: bool) -> Target:
    """The URL resolved; refused when its host resolves to any address that is not public (unless private
    ones are allowed)."""
    check_url(url)
    parts = urlsplit(url.strip())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise TargetRefused(f"the host {parts.hostname!r} does not resolve: {exc}") from None
    target = Target(parts.scheme, str(parts.hostname), port, str(found[0][4][0]),
                    (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    if allow_private:
        return target
    private = not_public(info[4][0] for info in found)
    if private:
        raise TargetRefused(f"{parts.hostname!r} resolves to {', '.join(private)}, which is not a public address "
                            "(set OUTGOING_WEBHOOKS_ALLOW_PRIVATE=true to allow it)")
    return target


def not_public(addresses: Iterable[str]) -> List[str]:
    refused = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            refused.append(str(address))
    return refused
