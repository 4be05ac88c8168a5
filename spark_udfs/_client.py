"""An asyncio client for `POST /v1/features`, with retries and pacing that respect the proxy.

Retried: transient faults only, i.e. connection errors and timeouts, 429, 502, 503 and 504
(waiting `Retry-After` when the server sends one), with capped exponential backoff plus
jitter, for as long as the batch's deadline (`RetryPolicy.deadline`, default 120 s) and the
task's retry budget (`RetryBudget`) allow. When the deadline runs out the batch's rows get a
`DeadlineExceeded` error naming the last fault; a spent budget fails the task instead (the
API is down for good: rerun the job once it is back, finished parts are kept). Not retried:
other 4xx and 500, which are the row's own fault. A batch the API rejects as a whole (413,
422) is split in halves until the parts pass, so that only an offending doc gets the error
and a batch over the API's `max_docs` still goes through. An answer with
another number of results than docs is a `BadResponse` for the batch, never a shifted row.
Every send first waits on the task's `Pacer`, which every answer's RateLimit headers update.
Each request carries the feature spec (`contracts.FeatureSpec`, as JSON) and, with an API
key, the key in the `contracts.headers.API_KEY` header; the key is never logged.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from contracts import FeatureSpec, headers
from spark_udfs._errors import (
    ApiBusy,
    ApiRejected,
    ApiUnreachable,
    BadResponse,
    DeadlineExceeded,
    RetryBudgetExhausted,
    SparkUdfError,
)
from spark_udfs._pacer import Pacer, Sleep

__all__ = ["FeaturesClient", "RetryBudget", "RetryPolicy", "resolve_spec"]

Result = dict[str, Any]
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class RetryPolicy:
    """How long to keep trying a batch: until `deadline` seconds have passed since its first
    send (or `attempts` sends, if given), backing off from `initial` doubling up to `cap`."""

    def __init__(
        self,
        attempts: int | None = None,
        initial: float = 0.1,
        cap: float = 5.0,
        deadline: float = 120.0,
    ) -> None:
        self.attempts = attempts
        self._backoff = wait_exponential_jitter(multiplier=initial, max=cap, jitter=initial)
        self.cap = cap
        self.deadline = deadline

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, ApiBusy) and exc.retry_after is not None:
            return min(exc.retry_after, self.cap) + self._backoff(state) * 0.1
        return float(self._backoff(state))


class RetryBudget:
    """Retries a task may spend: `minimum` to start with, plus `ratio` per request sent
    (Finagle's retry budget), so a task retries freely through a fault of seconds but stops
    hammering an API that stays down."""

    def __init__(self, ratio: float = 0.5, minimum: int = 200) -> None:
        self.ratio = ratio
        self._tokens = float(minimum)
        self.requests = 0
        self.retries = 0

    def sent(self) -> None:
        self.requests += 1
        self._tokens += self.ratio

    def take(self) -> bool:
        """Spend one retry; False when none is left."""
        if self._tokens < 1:
            return False
        self._tokens -= 1
        self.retries += 1
        return True


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
        budget: RetryBudget | None = None,
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
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers[headers.API_KEY] = api_key
        self._retry = retry or RetryPolicy()
        self.budget = budget or RetryBudget()
        self.retries: Counter[str] = Counter()
        """Retries by cause (`429`, `502`..., `connection`), for the job's report."""
        self._sleep = sleep
        self._clock = clock
        self.pacer = Pacer(clock=clock, sleep=sleep)

    async def features(self, docs: Sequence[str]) -> list[Result]:
        """One result per doc, in order: features, or `{"error": {...}}`. Never raises for a doc."""
        try:
            answer = await self._post_with_retry(list(docs))
            results = answer.get("results") if isinstance(answer, dict) else None
            if not isinstance(results, list) or len(results) != len(docs):
                got = len(results) if isinstance(results, list) else "no"
                raise BadResponse(f"{got} results for {len(docs)} docs from {self._url}")
            return results
        except RetryBudgetExhausted:
            raise  # the task fails: not the rows' fault, and retrying more would not help
        except ApiRejected as exc:
            if len(docs) > 1 and exc.status in (413, 422):  # halves: log2(n) steps to the bad doc
                mid = len(docs) // 2
                return [*await self.features(docs[:mid]), *await self.features(docs[mid:])]
            return [_error(exc)] * len(docs)
        except SparkUdfError as exc:
            return [_error(exc)] * len(docs)

    async def describe(self) -> Result:
        """The API's answer for an empty batch, without `results`: what it computes for this
        client's request (analyzer and version, dictionary, spec, spec_hash...)."""
        body = await self._post_with_retry([])
        return {k: v for k, v in body.items() if k != "results"}

    async def _post_with_retry(self, docs: list[str]) -> Result:
        policy, started = self._retry, self._clock()

        def wait(state: RetryCallState) -> float:
            return min(policy.wait(state), max(0.0, started + policy.deadline - self._clock()))

        def stop(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            cause = str(getattr(exc, "status", "connection"))
            elapsed = self._clock() - started
            if elapsed >= policy.deadline or (
                policy.attempts is not None and state.attempt_number >= policy.attempts
            ):
                raise DeadlineExceeded(
                    f"no answer within {elapsed:.0f}s ({state.attempt_number} attempts; "
                    f"last: {exc})"
                ) from exc
            if not self.budget.take():
                raise RetryBudgetExhausted(
                    f"this task spent its retry budget ({self.budget.retries} retries for "
                    f"{self.budget.requests} requests; last: {exc}): the API keeps failing; "
                    "fix it and run the same job again, finished parts are kept"
                ) from exc
            self.retries[cause] += 1
            return False

        retrying = AsyncRetrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception_type((ApiBusy, ApiUnreachable)),
            sleep=self._sleep,
            reraise=True,
        )
        return await retrying(self._post, docs)

    async def _post(self, docs: list[str]) -> Result:
        body = orjson.dumps({**self._request, "docs": docs})
        await self.pacer.wait()
        self.budget.sent()
        try:
            resp = await self._http.post(self._url, content=body, headers=self._headers)
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
        try:
            answer: Result = orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            raise BadResponse(f"HTTP {resp.status_code} with a body that is not JSON") from exc
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
