"""Forwarding: one pooled aiohttp client session relays each request to one of the upstreams.

A request goes to the upstream the pool picks. When the connection fails before the request
was sent it is tried on the next healthy upstream; a connection dropped before any response
byte (a stale keep-alive) is retried once, on another upstream where there is one. Every NLP
API call is a pure function of its input, so sending one twice is harmless. Nothing is
retried once response headers arrived, nor after a read timeout (the upstream is busy).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping
from yarl import URL

from contracts.headers import API_KEY, MAX_WAIT, REQUEST_CLASS, UPSTREAM_TOKEN

from ._errors import NoHealthyUpstream, UpstreamError, UpstreamTimeout, UpstreamUnavailable
from ._metrics import ProxyMetrics
from ._upstreams import Upstream, UpstreamPool

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
_CLIENT_ONLY = frozenset(
    h.lower() for h in ("Authorization", API_KEY, MAX_WAIT, UPSTREAM_TOKEN, REQUEST_CLASS)
)
"""The client's credentials and the proxy's own request headers: never sent upstream (the
request class is set from the client's configured class, never taken from the client)."""
_NOT_FORWARDED = HOP_BY_HOP | _CLIENT_ONLY | {"host", "expect"}
_FAILING_STATUSES = frozenset({502, 503, 504})
_BUFFER_UP_TO = 1 << 20
"""Answers up to this size (by Content-Length) are read whole and sent in one write; larger
or unsized ones are streamed through."""
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


class _Failed(Exception):
    """One attempt failed before response headers arrived; ``sent`` unless it failed while
    connecting (then another upstream may take it)."""

    def __init__(self, upstream: Upstream, kind: str, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.upstream = upstream
        self.kind = kind
        self.reason = reason
        self.sent = sent


class Forwarder:
    """Relays one request to an upstream of ``pool`` and streams the answer back.

    ``token`` is sent as the upstream token header; whatever the client sent under that name,
    and its own credentials (API key, ``Authorization``), are dropped.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        pool: UpstreamPool,
        metrics: ProxyMetrics,
        *,
        token: str | None,
    ) -> None:
        self._session = session
        self._pool = pool
        self._metrics = metrics
        self._token = token

    @staticmethod
    def target(request: web.BaseRequest, upstream: Upstream) -> URL:
        """The URL for ``request`` on ``upstream``: base URL + raw path and query."""
        return URL(upstream.url + request.raw_path, encoded=True)

    def request_headers(self, request: web.BaseRequest) -> CIMultiDict[str]:
        """Client headers minus hop-by-hop ones, ``Host`` and credentials; plus X-Forwarded-*
        and the upstream token."""
        headers = _strip(request.headers, _NOT_FORWARDED)
        peer = request.remote or "unknown"
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {peer}" if prior else peer
        headers.setdefault("X-Forwarded-Host", request.host)
        headers.setdefault("X-Forwarded-Proto", request.scheme)
        if self._token:
            headers[UPSTREAM_TOKEN] = self._token
        return headers

    async def forward(
        self,
        request: web.Request,
        body: bytes,
        extra_headers: Mapping[str, str],
        *,
        request_class: str | None = None,
    ) -> web.StreamResponse:
        """Send ``request`` (whose ``body`` the caller has read) upstream; stream the answer.

        Raises ``NoHealthyUpstream`` (503) when no upstream is healthy to begin with,
        ``UpstreamUnavailable`` (502) or ``UpstreamTimeout`` (504) when every attempt failed
        before the upstream answered; a failure while streaming the body aborts the connection.
        """
        headers = self.request_headers(request)
        if request_class:  # the API serves interactive requests between a batch's docs
            headers[REQUEST_CLASS] = request_class
        data = body if body or request.body_exists else None
        tried: list[Upstream] = []
        failures: list[_Failed] = []
        again: Upstream | None = None
        while True:
            try:
                upstream = self._next(tried, again)
            except NoHealthyUpstream:
                if not failures:
                    raise
                raise _give_up(failures) from failures[-1].__cause__
            if upstream is again:
                again = None
            tried.append(upstream)
            try:
                return await self._attempt(request, upstream, headers, data, extra_headers)
            except _Failed as failed:
                failures.append(failed)
                self._pool.record(upstream, ok=False, kind=failed.kind)
                if not failed.sent:
                    continue
                if failed.kind != "disconnect" or _resent(failures):
                    raise _give_up(failures) from failed.__cause__
                again = upstream

    def _next(self, tried: Sequence[Upstream], again: Upstream | None) -> Upstream:
        """An untried upstream; else ``again`` (allowed one more try) if still healthy."""
        try:
            return self._pool.pick(exclude=tried)
        except NoHealthyUpstream:
            if again is None:
                raise
            return self._pool.pick(exclude=[u for u in tried if u is not again])

    async def _attempt(
        self,
        request: web.Request,
        upstream: Upstream,
        headers: CIMultiDict[str],
        data: bytes | None,
        extra_headers: Mapping[str, str],
    ) -> web.StreamResponse:
        upstream.outstanding += 1
        try:
            started = time.perf_counter()
            try:
                answer = await self._session.request(
                    request.method,
                    self.target(request, upstream),
                    headers=headers,
                    data=data,
                    allow_redirects=False,
                )
            except aiohttp.ConnectionTimeoutError as exc:
                raise _Failed(upstream, "timeout", "connect timed out", sent=False) from exc
            except aiohttp.ClientConnectorError as exc:
                raise _Failed(upstream, "connect", _describe(exc), sent=False) from exc
            except TimeoutError as exc:
                raise _Failed(upstream, "timeout", "no answer in time", sent=True) from exc
            except aiohttp.ClientConnectionError as exc:
                raise _Failed(upstream, "disconnect", _describe(exc), sent=True) from exc
            except aiohttp.ClientError as exc:
                raise _Failed(upstream, "protocol", _describe(exc), sent=True) from exc
            self._metrics.upstream_latency.labels(upstream=upstream.url).observe(
                time.perf_counter() - started
            )
            failing = answer.status in _FAILING_STATUSES
            self._pool.record(upstream, ok=not failing, kind="status_5xx" if failing else None)
            async with answer:
                return await self._relay(request, answer, extra_headers)
        finally:
            upstream.outstanding -= 1

    async def _relay(
        self,
        request: web.Request,
        upstream: aiohttp.ClientResponse,
        extra_headers: Mapping[str, str],
    ) -> web.StreamResponse:
        headers = _strip(upstream.headers, HOP_BY_HOP)
        headers.update(extra_headers)
        length = upstream.content_length
        if length is not None and length <= _BUFFER_UP_TO:  # one write, no chunked framing
            body = await upstream.read()
            del headers["Content-Length"]
            return web.Response(
                status=upstream.status, reason=upstream.reason, body=body, headers=headers
            )
        response = web.StreamResponse(
            status=upstream.status, reason=upstream.reason, headers=CIMultiDictProxy(headers)
        )
        await response.prepare(request)
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
        await response.write_eof()
        return response


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _resent(failures: Sequence[_Failed]) -> bool:
    """Whether a request already went out twice (the one retry after a dropped connection)."""
    return sum(f.sent for f in failures) > 1


def _give_up(failures: Sequence[_Failed]) -> UpstreamError:
    """The error for a request every attempt of which failed; names each upstream tried.

    504 when the last attempt timed out (connecting or waiting for the answer), else 502.
    """
    last = failures[-1]
    urls = ", ".join(dict.fromkeys(f.upstream.url for f in failures))
    tried = "; ".join(f"{f.upstream.url} ({f.reason})" for f in failures)
    if last.kind == "timeout":
        return UpstreamTimeout(urls, f"The NLP API did not answer in time: {tried}.")
    return UpstreamUnavailable(urls, f"Could not reach the NLP API at {tried}. {_START_HINT}")
