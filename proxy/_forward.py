"""Forwarding: one pooled aiohttp client session relays requests to the upstream API."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping
from yarl import URL

from ._errors import UpstreamTimeout, UpstreamUnavailable

__all__ = ["HOP_BY_HOP", "Forwarder", "open_session"]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "expect"}
_START_HINT = "Is the NLP API running? Start it with `nlpfeat api`."


def open_session(pool_size: int, timeout: float) -> aiohttp.ClientSession:
    """A client session for relaying: keep-alive pool of ``pool_size`` connections, bodies
    passed through undecoded, no cookie jar (clients must not share cookies), no default
    headers of its own. ``timeout`` bounds connecting and each read from the upstream."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=pool_size),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
    )


def _strip(headers: MultiMapping[str], drop: frozenset[str]) -> CIMultiDict[str]:
    named = {t.strip().lower() for v in headers.getall("Connection", ()) for t in v.split(",")}
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        lowered = name.lower()
        if lowered not in drop and lowered not in named and not lowered.startswith("proxy-"):
            out.add(name, value)
    return out


class Forwarder:
    """Relays one request to ``upstream`` (a base URL) and streams the answer back."""

    def __init__(self, session: aiohttp.ClientSession, upstream: str) -> None:
        self._session = session
        self._upstream = upstream
        self._base = upstream.rstrip("/")

    def target(self, request: web.BaseRequest) -> URL:
        """The upstream URL for ``request``: base URL + raw path and query, unre-encoded."""
        return URL(self._base + request.raw_path, encoded=True)

    def request_headers(self, request: web.BaseRequest) -> CIMultiDict[str]:
        """Client headers minus hop-by-hop ones and ``Host``, plus X-Forwarded-*."""
        headers = _strip(request.headers, _NOT_FORWARDED)
        peer = request.remote or "unknown"
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        headers.setdefault("X-Forwarded-Host", request.host)
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        return headers

    async def forward(
        self, request: web.Request, extra_headers: Mapping[str, str]
    ) -> web.StreamResponse:
        """Send ``request`` upstream and stream status, headers and body back.

        Failures before the upstream answers become ``UpstreamUnavailable`` (502) or
        ``UpstreamTimeout`` (504); a failure while streaming the body aborts the connection.
        """
        url = self.target(request)
        try:
            upstream = await self._session.request(
                request.method,
                url,
                headers=self.request_headers(request),
                data=request.content if request.body_exists else None,
                allow_redirects=False,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                self._upstream, f"The NLP API at {self._upstream} did not answer in time."
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                self._upstream,
                f"Could not reach the NLP API at {self._upstream} ({exc}). {_START_HINT}",
            ) from exc
        async with upstream:
            return await self._relay(request, upstream, extra_headers)

    async def _relay(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        extra_headers: Mapping[str, str],
    ) -> web.StreamResponse:
        headers = _strip(upstream.headers, HOP_BY_HOP)
        headers.update(extra_headers)
        response = web.StreamResponse(
            status=upstream.status, reason=upstream.reason, headers=CIMultiDictProxy(headers)
        )
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response
