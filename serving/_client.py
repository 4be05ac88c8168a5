"""Async client for the features proxy's ``POST /v1/features``, built on aiohttp.

One :class:`aiohttp.ClientSession` (keep-alive connection pool) is opened in the app
lifespan and closed at shutdown. aiohttp errors and bad upstream answers are translated
into :mod:`serving` errors here and nowhere else. Each request carries the model's feature
spec (and user dictionary); an answer whose ``spec_hash`` is not `contracts.spec_hash` of
that spec was computed differently from the model's training features and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol, Self

import aiohttp
import orjson

from contracts import FeatureSpec, headers, spec_hash

from ._errors import UpstreamError, UpstreamThrottled, UpstreamUnavailable

__all__ = ["FeaturesClient", "FeaturesSource"]

_DETAIL_CHARS = 300


class FeaturesSource(Protocol):
    """Anything that turns docs into feature results; tests pass a fake."""

    async def features(
        self,
        docs: Sequence[str],
        analyzer: str,
        spec: FeatureSpec,
        *,
        dictionary: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return one ``{"indices", "values"}`` or ``{"error": {...}}`` dict per doc."""
        ...


class FeaturesClient:
    """Pooled aiohttp client for ``POST {base_url}/v1/features``.

    Use as ``async with FeaturesClient(url, timeout=30) as client: ...`` (or call
    :meth:`open` and :meth:`aclose`); the session must be opened inside the event loop.
    With ``api_key``, every request carries it as ``X-API-Key``.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        limit: int = 100,
        api_key: str | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/v1/features"
        self._headers = {"Content-Type": "application/json"}
        if api_key:
            self._headers[headers.API_KEY] = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """Create the pooled session (idempotent)."""
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def aclose(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def features(
        self,
        docs: Sequence[str],
        analyzer: str,
        spec: FeatureSpec,
        *,
        dictionary: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the proxy's per-doc results, in order; raise an UpstreamError otherwise."""
        if self._session is None:
            raise RuntimeError("FeaturesClient is not open; use 'async with' or open()")
        body: dict[str, Any] = {"analyzer": analyzer, "docs": list(docs), "spec": spec.to_json()}
        if dictionary is not None:
            body["dictionary"] = dictionary
        try:
            data = orjson.dumps(body)
            async with self._session.post(self._url, data=data, headers=self._headers) as response:
                text = await response.read()
                if response.status != 200:
                    raise _status_error(response.status, response.headers, text)
        except aiohttp.ClientConnectionError as exc:
            raise UpstreamUnavailable(f"cannot reach the features API: {exc!r}") from exc
        except TimeoutError as exc:
            raise UpstreamUnavailable("the features API timed out") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"features API request failed: {exc!r}") from exc
        return _parse_results(text, len(docs), spec_hash(spec, analyzer))


def _status_error(status: int, response_headers: Any, text: bytes) -> UpstreamError:
    retry_after = response_headers.get(headers.RETRY_AFTER)
    detail = f"features API answered {status}: {_upstream_detail(text)}"
    if status == 429:
        return UpstreamThrottled(detail, retry_after=retry_after)
    if status == 503:
        return UpstreamUnavailable(detail, retry_after=retry_after)
    return UpstreamError(detail, retry_after=retry_after)


def _upstream_detail(text: bytes) -> str:
    decoded = text.decode("utf-8", "replace")
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError:
        return decoded[:_DETAIL_CHARS]
    detail = payload.get("detail") if isinstance(payload, dict) else None
    return (detail if isinstance(detail, str) else decoded)[:_DETAIL_CHARS]


def _parse_results(text: bytes, n_docs: int, expected_hash: str) -> list[dict[str, Any]]:
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("features API answered with invalid JSON") from exc
    if not isinstance(payload, dict):
        raise UpstreamError("features API answered with something other than an object")
    answered_hash = payload.get("spec_hash", expected_hash)
    if answered_hash != expected_hash:
        raise UpstreamError(
            f"features API computed spec_hash {answered_hash}, the model expects {expected_hash}:"
            " the API and this server run different versions of the feature contract"
        )
    results = payload.get("results")
    if not isinstance(results, list) or len(results) != n_docs:
        raise UpstreamError(f"features API answer lacks {n_docs} results")
    if not all(isinstance(result, dict) for result in results):
        raise UpstreamError("features API results must be objects")
    return results
