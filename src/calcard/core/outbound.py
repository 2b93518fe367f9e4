"""Outbound HTTP (chat webhooks, push messages) that cannot be turned against the inside.

A user chooses the URL, so without a guard the server would post to its own
loopback, to the private network behind it or to a cloud metadata service
(server-side request forgery; OWASP SSRF prevention). The guard sits where the
connection is made: the host name is resolved once, every address it resolves
to is checked, and the socket is opened to that checked address (TLS still
verifies the host name), so a DNS answer that changes between a check and the
connect (DNS rebinding) gains nothing. Redirects are never followed.

Refused: loopback, private, link-local, multicast, unspecified and reserved
addresses and anything else not globally reachable (RFC 6890 special-purpose
registries), for IPv4 and IPv6, including IPv4 addresses embedded in IPv6
(IPv4-mapped RFC 4291 2.5.5.2, 6to4 RFC 3056, NAT64 RFC 6052). The operator
may allow host names or networks (``CALCARD_OUTBOUND_ALLOW``, comma-separated
names or CIDRs), for instance an on-premises chat server. The httpx transport that
connects only to checked addresses is ``calcard.core.guarded_http``.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("calcard.outbound")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The target is not one outbound requests may reach; the message says why (for logs)."""


@dataclass(frozen=True)
class Policy:
    """Which internal targets the operator allows (everything public is allowed)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, allow: str) -> Policy:
        """``CALCARD_OUTBOUND_ALLOW``: comma-separated host names or CIDRs (``10.0.0.0/8``)."""
        hosts, networks = set(), []
        for entry in (part.strip() for part in allow.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def refusal(self, host: str, address: Address) -> str:
        """Why ``address`` (which ``host`` resolved to) may not be reached, or ''."""
        target = _embedded(address) or address  # where the packets end up
        if host.lower().rstrip(".") in self.hosts or any(target in n for n in self.networks):
            return ""
        reason = _internal(target)
        return f"{host} resolves to {address} ({reason})" if reason else ""

    def check(self, host: str, port: int) -> list[Address]:
        """Every address ``host`` resolves to, each permitted, or Refused."""
        addresses = resolve(host, port)
        for address in addresses:
            reason = self.refusal(host, address)
            if reason:
                raise Refused(reason)
        return addresses


def _embedded(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4 or NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.ipv4_mapped or address.sixtofour


def _internal(address: Address) -> str:
    """The kind of non-public address this is, or '' for a globally reachable one."""
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "" if address.is_global else "non-global"


def resolve(host: str, port: int) -> list[Address]:
    """The addresses of ``host`` (a literal address is its own), or Refused when unknown."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"{host} does not resolve: {exc}") from exc
    found = (str(info[4][0]).split("%")[0] for info in infos)  # an IPv6 scope id goes
    return list(dict.fromkeys(ipaddress.ip_address(address) for address in found))


@lru_cache(maxsize=8)
def policy(allow: str) -> Policy:
    return Policy.parse(allow)


def check_url(url: str, allow: str) -> None:
    """Refuse (Refused) a URL whose host resolves, now, to an address not permitted.

    For the moment a URL is set: a host that does not resolve yet passes, since
    delivery checks again at connect time.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused(f"bad port in {url!r}") from exc
    try:
        addresses = resolve(host, port)
    except Refused:
        return
    for address in addresses:
        reason = policy(allow).refusal(host, address)
        if reason:
            raise Refused(reason)


def operator_allowed(url: str, allow: str) -> bool:
    """Whether the operator named the URL's host in ``allow`` (CALCARD_OUTBOUND_ALLOW), by
    name or with every address it resolves to inside an allowed network: only there may
    a push resource be plain ``http`` (RFC 8030 §8 wants TLS everywhere else)."""
    parts = urlsplit(url)
    try:
        host, port = (parts.hostname or "").rstrip("."), parts.port or 80
    except ValueError:  # a bad port
        return False
    guard = policy(allow)
    if not host:
        return False
    if host in guard.hosts:
        return True
    try:
        addresses = resolve(host, port)
    except Refused:
        return False
    return bool(addresses) and all(
        any((_embedded(a) or a) in n for n in guard.networks) for a in addresses
    )


def client(allow: str, timeout: float) -> httpx.Client:
    """An httpx client for user-chosen URLs: guarded connections, no redirects, no proxies.

    httpx (with the rich and pygments its command line brings) is imported here, on the
    first outbound request: 5 MiB that a server which posts nothing does not hold."""
    from calcard.core import guarded_http

    return guarded_http.client(policy(allow), timeout)
