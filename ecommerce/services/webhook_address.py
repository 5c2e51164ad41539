"""Where a webhook may point: http(s) URLs, and in production only public addresses.

A shop's admin (or whoever steals an admin token) must not turn webhooks into a way
to reach the database, the cloud metadata service or anything else on the private
network. The URL is checked when the endpoint is created (host names resolved too),
and every delivery connects through ``PublicOnlyResolver``, so a host name that later
resolves to a private address (DNS rebinding) is refused at connect time as well.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

RESOLVE_TIMEOUT = 5.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressNotAllowed(OSError):
    """The host is (or resolves to) a loopback, private or otherwise non-public address."""


def is_public(address: str) -> bool:
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def private_address_problem(url: str) -> str | None:
    """Why ``url`` reaches a non-public address (``None``: every address is public)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = literal_address(host)
    if literal is not None:
        return None if is_public(str(literal)) else "the URL points to a non-public address"
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError):
        return "the URL's host name cannot be resolved"
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(is_public(address) for address in addresses):
        return "the URL's host resolves to a non-public address"
    return None


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default, then keeps only public addresses."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [result for result in results if is_public(str(result["host"]))]
        if not allowed:
            raise AddressNotAllowed(f"{host} resolves to no public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def check_literal_host(url: str) -> None:
    """aiohttp connects to an IP literal without asking the resolver: check it here."""
    literal = literal_address(urlsplit(url).hostname or "")
    if literal is not None and not is_public(str(literal)):
        raise AddressNotAllowed(f"{literal} is not a public address")
