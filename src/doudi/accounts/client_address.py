"""The client's address (客户端地址), the one every rate limit, the login history and the audit
log key on.

Behind the TLS reverse proxy that `DOUDI_HTTPS=1` assumes, REMOTE_ADDR is the proxy's address
for every user: keyed on it, one client's failures would slow down everyone. The proxy names
the client in X-Forwarded-For, but any client can send that header too, so it is read only
when REMOTE_ADDR is one of `DOUDI_TRUSTED_PROXIES` (addresses or networks), and then from the
right: each trusted hop appended the address it saw, and the right-most address that is not a
trusted proxy is the client (anything further left the client itself may have written).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """"10.0.0.1, 192.168.0.0/16" → networks; ValueError names an entry that is neither an
    address nor a network (settings refuse to start with one)."""
    found = []
    for part in spec.split(","):
        if part.strip():
            try:
                found.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"DOUDI_TRUSTED_PROXIES: “{part.strip()}” 不是 IP 地址或网段") \
                    from None
    return tuple(found)


_networks = lru_cache(maxsize=8)(parse_networks)


def trusted_networks() -> tuple[Network, ...]:
    value = settings.DOUDI_TRUSTED_PROXIES
    spec = value if isinstance(value, str) else ",".join(value)
    return _networks(spec)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             networks: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr in net for net in networks)


def client_address(request: HttpRequest | None) -> str:
    """The address of the client that sent `request` ("" without a request)."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = trusted_networks()
    if not networks or not _trusted(_address(remote), networks):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            # garbage where an address should be: the hop that wrote it is the last one known
            return remote
        if not _trusted(addr, networks):
            return str(addr)
        remote = str(addr)
    # every hop was a trusted proxy (or no header): the left-most proxy is all that is known
    return remote
