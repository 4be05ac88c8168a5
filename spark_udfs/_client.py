"""An asyncio client for `POST /v1/features`, with retries and pacing that respect the proxy.

Retried: 429 and 503 (waiting `Retry-After` when the server sends one) and connection errors,
with capped exponential backoff plus jitter. Not retried: other 4xx. A batch the API rejects
as a whole (413, 422) is split into single docs so that only the offending doc gets the error.
Every send first waits on the task's `Pacer`, which every answer's RateLimit headers update.
Each request carries the feature spec (`contracts.FeatureSpec`, as JSON) and, with an API
key, the key in the `contracts.headers.API_KEY` header; the key is never logged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from contracts import FeatureSpec, headers
from spark_udfs._errors import ApiBusy, ApiRejected, ApiUnreachable, SparkUdfError
from spark_udfs._pacer import Pacer, Sleep

__all__ = ["FeaturesClient", "RetryPolicy", "resolve_spec"]

Result = dict[str, Any]
RETRY_STATUSES = frozenset({429, 503})


class RetryPolicy:
    """How long to keep trying: `attempts` in all, backoff from `initial` doubling up to `cap`."""

    def __init__(self, attempts: int = 8, initial: float = 0.1, cap: float = 10.0) -> None:
        self.attempts = attempts
        self._backoff = wait_exponential_jitter(multiplier=initial, max=cap, jitter=initial)
        self.cap = cap

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiBusy) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap) + self._backoff(state) * 0.1
        return self._backoff(state)


class FeaturesClient:
    """Sends docs to `{base_url}/v1/features`. The HTTP client is passed in (one per task).

    The spec is `spec`, or the default spec with `num_features` (giving both, they must
    agree); `dictionary` names a user dictionary of the API. `clock` and `sleep` drive both
    the retries and the pacer (`self.pacer`), so tests step time instead of sleeping. Share
    one client between the coroutines of a task, so that they share its pacer.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        analyzer: str,
        num_features: int | None = None,
        spec: FeatureSpec | None = None,
        dictionary: str | None = None,
        return_tokens: bool = True,
        api_key: str | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/v1/features"
        self.spec = resolve_spec(spec, num_features)
        self._request: dict[str, Any] = {
            "analyzer": analyzer,
            "spec": self.spec.to_json(),
            "return_tokens": return_tokens,
        }
        if dictionary is not None:
            self._request["dictionary"] = dictionary
        self._headers = {headers.API_KEY: api_key} if api_key else {}
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self.pacer = Pacer(clock=clock, sleep=sleep)

    async def features(self, docs: Sequence[str]) -> list[Result]:
        """One result per doc, in order: features, or `{"error": {...}}`. Never raises for a doc."""
        try:
            results: list[Result] = (await self._post_with_retry(list(docs)))["results"]
            return results
        except ApiRejected as exc:
            if len(docs) > 1 and exc.status in (413, 422):
                return [r for doc in docs for r in await self.features([doc])]
            return [_error(exc)] * len(docs)
        except SparkUdfError as exc:
            return [_error(exc)] * len(docs)

    async def describe(self) -> Result:
        """The API's answer for an empty batch, without `results`: what it computes for this
        client's request (analyzer and version, dictionary, spec, spec_hash...)."""
        body = await self._post_with_retry([])
        return {k: v for k, v in body.items() if k != "results"}

    async def _post_with_retry(self, docs: list[str]) -> Result:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=self._retry.wait,
            retry=retry_if_exception_type((ApiBusy, ApiUnreachable)),
            sleep=self._sleep,
            reraise=True,
        )
        return await retrying(self._post, docs)

    async def _post(self, docs: list[str]) -> Result:
        payload = {**self._request, "docs": docs}
        await self.pacer.wait()
        try:
            resp = await self._http.post(self._url, json=payload, headers=self._headers)
        except httpx.TransportError as exc:
            raise ApiUnreachable(f"{self._url}: {exc!r}") from exc
        self.pacer.observe(resp.headers)
        if resp.status_code == 429:
            self.pacer.throttled()
        elif resp.status_code < 400:
            self.pacer.succeeded()
        if resp.status_code in RETRY_STATUSES:
            retry_after = _retry_after(resp)
            if retry_after is not None:  # the task's other senders wait too
                self.pacer.hold(retry_after)
            raise ApiBusy(resp.status_code, retry_after)
        if resp.status_code >= 400:
            raise ApiRejected(resp.status_code, _detail(resp))
        answer: Result = resp.json()
        return answer


def resolve_spec(spec: FeatureSpec | None, num_features: int | None) -> FeatureSpec:
    """`spec`, or the default spec with `num_features`; a `num_features` that contradicts
    `spec` is an error rather than silently one or the other."""
    if spec is None:
        return FeatureSpec() if num_features is None else FeatureSpec(num_features=num_features)
    if num_features is not None and num_features != spec.num_features:
        raise ValueError(f"num_features {num_features} contradicts spec's {spec.num_features}")
    return spec


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers[headers.RETRY_AFTER]))
    except (KeyError, ValueError):
        return None


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail", resp.text))
    except ValueError:
        return resp.text[:500]


def _error(exc: Exception) -> Result:
    return {"error": {"type": type(exc).__name__, "detail": str(exc)}}
