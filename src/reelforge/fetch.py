"""The one way reelforge fetches a URL it is given (a spec's URL in the server, a video for
product-shots): http/https only, every address the host
resolves to must be public (no loopback, private, link-local, metadata, multicast or reserved
ranges) — checked again after every redirect, and the connection goes to the address that was
checked (no second DNS answer can swap it) — with a size and a time limit."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from reelforge.errors import InputError

MAX_REDIRECTS = 5
Resolver = Callable[[str, int], Awaitable[list[str]]]
# 100.64.0.0/10 (carrier NAT) and the cloud metadata addresses are not "private" to ipaddress
_BLOCKED = [ipaddress.ip_network(n) for n in ("100.64.0.0/10", "169.254.0.0/16", "fd00:ec2::/32", "0.0.0.0/8")]


class FetchRefused(InputError):
    """A URL the server will not fetch (scheme, address, size or time)."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _BLOCKED if net.version == ip.version):
        return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class GuardedDownloader:
    """Downloads a URL to a file under the guard. `allow` admits extra addresses (tests and
    deployments that fetch from an internal mirror on purpose), as "host:port" strings."""

    def __init__(self, *, max_bytes: int, timeout_s: float, resolver: Resolver | None = None,
                 allow: frozenset[str] = frozenset()) -> None:
        self.max_bytes, self.timeout_s = max_bytes, timeout_s
        self.resolver = resolver or system_resolver
        self.allow = allow

    async def download(self, url: str, destination: Path, *, field: str = "url") -> tuple[Path, str]:
        """Fetch `url` into `destination`; returns it with the response's content type."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url, destination, field)
        except TimeoutError:
            raise FetchRefused(f"downloading {url} took longer than {self.timeout_s:g} s", field=field,
                               hint="upload the file instead (POST /v1/uploads)") from None
        except httpx.HTTPError as exc:
            raise FetchRefused(f"cannot download {url}: {exc}", field=field) from None

    async def _follow(self, url: str, destination: Path, field: str) -> tuple[Path, str]:
        async with httpx.AsyncClient(follow_redirects=False, timeout=self.timeout_s, trust_env=False) as client:
            for _ in range(MAX_REDIRECTS + 1):
                request = await self._pinned_request(client, url, field)
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchRefused(f"{url} answered HTTP {response.status_code}", field=field)
                    await self._save(response, destination, url, field)
                    return destination, response.headers.get("content-type", "application/octet-stream")
                finally:
                    await response.aclose()
        raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects", field=field)

    async def _pinned_request(self, client: httpx.AsyncClient, url: str, field: str) -> httpx.Request:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchRefused(f"only http and https URLs can be fetched, not {url!r}", field=field)
        if parts.username or parts.password:
            raise FetchRefused("URLs with credentials are not fetched", field=field)
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:
            raise FetchRefused(f"cannot resolve {host}: {exc}", field=field) from None
        allowed = f"{host}:{port}" in self.allow
        bad = [a for a in addresses if not is_public(a)]
        if not addresses or (bad and not allowed):
            raise FetchRefused(f"{url} resolves to a non-public address ({', '.join(bad) or 'none'})", field=field,
                               hint="the server only fetches from public addresses; upload the file instead")
        ip = addresses[0]
        netloc = f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return client.build_request("GET", pinned, headers={"Host": parts.netloc.rsplit("@", 1)[-1]},
                                    extensions={"sni_hostname": host})

    async def _save(self, response: httpx.Response, destination: Path, url: str, field: str) -> None:
        declared = int(response.headers.get("content-length") or 0)
        if declared > self.max_bytes:
            raise FetchRefused(f"{url} is {declared} bytes (the limit is {self.max_bytes})", field=field)
        destination.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with destination.open("wb") as out:
            async for chunk in response.aiter_bytes(1 << 16):
                size += len(chunk)
                if size > self.max_bytes:
                    out.close()
                    destination.unlink(missing_ok=True)
                    raise FetchRefused(f"{url} is larger than the limit of {self.max_bytes} bytes", field=field)
                out.write(chunk)
