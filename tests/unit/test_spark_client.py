"""The batch client's retry, pacing and per-row error rules, against an httpx.MockTransport.

Time is a fake clock whose `sleep` steps it: nothing here really sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pandas as pd
import pytest
from _fakes import FakeClock as Clock

from spark_udfs import FeaturesClient, FeaturizeOptions, RetryPolicy, features_frame
from spark_udfs._featurize import _feature_spec
from spark_udfs._pacer import parse_items

POLICY = "RateLimit-Policy"


def ok(docs: list[str], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        200,
        headers=headers,
        json={
            "analyzer": "mecab",
            "analyzer_version": "test",
            "num_features": 8,
            "results": [{"indices": [len(d) % 8], "values": [1.0], "tokens": [d]} for d in docs],
        },
    )


class Upstream:
    """Answers from a script of responses, then succeeds; records every request."""

    def __init__(self, script: list[httpx.Response | Exception]) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    @property
    def calls(self) -> list[list[str]]:
        return [json.loads(r.content)["docs"] for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return ok(json.loads(request.content)["docs"])


Use = Callable[[FeaturesClient], Coroutine[Any, Any, Any]]


def with_client(upstream: Any, clock: Clock, use: Use, **kwargs: Any) -> Any:
    """Run `use(client)` on a fresh event loop with a client over `upstream`."""
    kwargs.setdefault("retry", RetryPolicy(attempts=5, initial=0.1, cap=5.0))

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(upstream)) as http:
            client = FeaturesClient(
                http,
                "http://proxy",
                analyzer="mecab",
                num_features=8,
                sleep=clock.sleep,
                clock=clock,
                **kwargs,
            )
            return await use(client)

    return asyncio.run(go())


def features(upstream: Any, clock: Clock, docs: list[str], **kwargs: Any) -> list[dict]:
    return with_client(upstream, clock, lambda c: c.features(docs), **kwargs)


def test_429_waits_retry_after_then_succeeds() -> None:
    up, clock = Upstream([httpx.Response(429, headers={"Retry-After": "3"})]), Clock()
    results = features(up, clock, ["가", "나다"])
    assert [r["indices"] for r in results] == [[1], [2]]
    assert len(clock.sleeps) == 1 and 3.0 <= clock.sleeps[0] <= 3.5


def test_a_retry_after_over_the_backoff_cap_is_still_honoured_in_full() -> None:
    up, clock = Upstream([httpx.Response(429, headers={"Retry-After": "8"})]), Clock()
    features(up, clock, ["가"])  # backoff capped at 5 s, the pacer holds the rest
    assert 8.0 - 1e-9 <= sum(clock.sleeps) <= 8.5 and len(up.requests) == 2


def test_connection_errors_and_503_back_off_exponentially_with_a_cap() -> None:
    script = [httpx.ConnectError("refused")] * 3 + [httpx.Response(503)]
    up, clock = Upstream(script), Clock()
    results = features(up, clock, ["가"])
    assert results[0]["indices"] == [1]
    assert len(clock.sleeps) == 4
    assert clock.sleeps[0] < clock.sleeps[2] and all(s <= 5.0 + 0.1 for s in clock.sleeps)


def test_exhausted_attempts_become_per_row_errors_naming_the_last_fault() -> None:
    up, clock = Upstream([httpx.Response(429, headers={"Retry-After": "1"})] * 10), Clock()
    results = features(up, clock, ["가", "나"], retry=RetryPolicy(attempts=3, cap=5.0))
    assert [r["error"]["type"] for r in results] == ["DeadlineExceeded", "DeadlineExceeded"]
    assert "HTTP 429" in results[0]["error"]["detail"]
    assert len(up.requests) == 3


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_faults_are_retried_and_the_rows_come_back_good(status: int) -> None:
    up, clock = Upstream([httpx.Response(status)] * 4), Clock()
    results = features(up, clock, ["가", "나"])
    assert [r.get("error") for r in results] == [None, None]
    assert len(up.requests) == 5


def test_a_batch_retries_until_its_deadline_then_its_rows_say_so() -> None:
    up, clock = Upstream([httpx.Response(502)] * 1000), Clock()
    start = clock.now
    results = features(up, clock, ["가"], retry=RetryPolicy(initial=0.5, cap=4.0, deadline=30.0))
    assert results[0]["error"]["type"] == "DeadlineExceeded"
    assert "HTTP 502" in results[0]["error"]["detail"]
    assert 30.0 - 1e-6 <= clock.now - start <= 30.0 + 1e-6  # the last wait is cut to the deadline
    assert len(up.requests) > 8


def test_a_spent_retry_budget_fails_the_task_instead_of_erroring_rows() -> None:
    from spark_udfs import RetryBudget, RetryBudgetExhausted

    up, clock = Upstream([httpx.ConnectError("refused")] * 1000), Clock()
    with pytest.raises(RetryBudgetExhausted, match="run the same job again"):
        budget = RetryBudget(ratio=0.5, minimum=5)
        features(up, clock, ["가"], budget=budget, retry=RetryPolicy(deadline=1e9))
    assert len(up.requests) == 1 + 10  # 5 retries to start with, each send earns half a retry


def test_an_answer_with_too_few_results_is_an_error_for_the_batch_not_a_shift() -> None:
    short = httpx.Response(200, json={"results": [{"indices": [1], "values": [1.0]}]})
    results = features(Upstream([short]), Clock(), ["가", "나"])
    assert [r["error"]["type"] for r in results] == ["BadResponse", "BadResponse"]
    assert "1 results for 2 docs" in results[0]["error"]["detail"]


def test_a_batch_rejected_as_too_large_is_split_so_only_the_bad_doc_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["docs"]
        if any(len(d) > 3 for d in docs):
            return httpx.Response(413, json={"detail": "doc too long"})
        return ok(docs)

    results = features(handler, Clock(), ["가", "너무너무길다", "다"])
    assert "indices" in results[0] and "indices" in results[2]
    assert (
        results[1]["error"]["type"] == "ApiRejected" and "too long" in results[1]["error"]["detail"]
    )


def test_the_api_key_goes_out_as_x_api_key_and_only_when_given() -> None:
    up = Upstream([])
    features(up, Clock(), ["가"], api_key="k-123")
    features(up, Clock(), ["가"])
    assert up.requests[0].headers["X-API-Key"] == "k-123"
    assert "X-API-Key" not in up.requests[1].headers


def test_the_pacer_is_rated_by_the_policy_and_re_rated_when_it_changes() -> None:
    def policy(q: int, w: int) -> dict[str, str]:
        return {POLICY: f'"batch";q={q};w={w}', "RateLimit": f'"batch";r={q - 1};t={w}'}

    up = Upstream(
        [ok(["가"], policy(300, 10)), ok(["가"]), ok(["가"]), ok(["가"], policy(5000, 2))]
    )

    async def use(client: FeaturesClient) -> None:
        assert client.pacer.interval == 0.0  # unpaced until the proxy names a policy
        await client.features(["가"])
        assert client.pacer.interval == pytest.approx(10 / 300)  # one at a time, no own burst
        for _ in range(3):  # the third answer names a new policy
            await client.features(["가"])
        assert client.pacer.interval == pytest.approx(2 / 5000)

    with_client(up, Clock(), use)


def test_remaining_zero_holds_the_next_send_for_t_seconds() -> None:
    exhausted = ok(["가"], {"RateLimit": '"batch";r=0;t=7'})
    fine = ok(["가"], {"RateLimit": '"batch";r=4;t=7'})
    up, clock = Upstream([fine, exhausted]), Clock()

    async def use(client: FeaturesClient) -> None:
        await client.features(["가"])
        await client.features(["가"])
        assert clock.sleeps == []  # r=4: no wait; r=0 is only honoured before the next send
        await client.features(["가"])

    with_client(up, clock, use)
    assert clock.sleeps == [7.0] and len(up.requests) == 3


def test_remaining_zero_under_a_known_policy_holds_one_interval_not_whole_seconds() -> None:
    exhausted = ok(["가"], {POLICY: '"batch";q=8;w=1', "RateLimit": '"batch";r=0;t=1'})
    up, clock = Upstream([exhausted]), Clock()

    async def use(client: FeaturesClient) -> None:
        await client.features(["가"])
        await client.features(["가"])

    with_client(up, clock, use)
    assert clock.sleeps == [pytest.approx(1 / (8 * 0.92))]  # one interval: eased, then +0.02


def test_a_429_halves_the_task_share_and_successes_win_it_back() -> None:
    policy = {POLICY: '"batch";q=1000;w=1'}
    busy = httpx.Response(429, headers={"Retry-After": "1", **policy})
    up = Upstream([ok(["가"], policy), busy, busy, *[ok(["가"], policy)] * 40])

    async def use(client: FeaturesClient) -> None:
        await client.features(["가"])
        assert client.pacer.share == 1.0
        await client.features(["가"])  # two 429s, then an answer
        assert client.pacer.share == pytest.approx(0.25 + 0.02)
        assert client.pacer.interval == pytest.approx(1 / (1000 * 0.27))
        for _ in range(37):
            await client.features(["가"])
        assert client.pacer.share == 1.0

    with_client(up, Clock(), use)


def test_features_frame_rebatches_and_marks_null_docs() -> None:
    up = Upstream([])
    frame = with_client(
        up, Clock(), lambda c: features_frame(c, pd.Series(["가", None, "나다", "라"]), 2)
    )
    assert sorted(up.calls) == [["가"], ["나다", "라"]]
    assert frame["error"].tolist()[1].startswith("NullDocument")
    assert frame["indices"].tolist()[0] == [1] and frame["indices"].tolist()[3] == [1]
    assert list(frame.columns) == ["tokens", "indices", "values", "error"]


def test_features_frame_keeps_row_order_with_requests_in_flight_together() -> None:
    second_arrived = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["docs"]
        if docs == ["가"]:  # the first batch answers only once the second was sent
            await second_arrived.wait()
        else:
            second_arrived.set()
        return ok(docs)

    docs = pd.Series(["가", "나다", "라마바"])
    frame = with_client(handler, Clock(), lambda c: features_frame(c, docs, 1, concurrency=2))
    assert frame["tokens"].tolist() == [["가"], ["나다"], ["라마바"]]


def test_rate_limit_headers_parse_leniently() -> None:
    assert parse_items('"a";q=5;w=1, "b";q=100;w=60') == [
        {"q": 5.0, "w": 1.0},
        {"q": 100.0, "w": 60.0},
    ]
    assert parse_items('"a";q=five;w=1') == [{"w": 1.0}]
    assert parse_items("garbage") == [{}]


def test_the_feature_spec_sends_the_key_and_never_holds_it() -> None:
    up = Upstream([])
    opts = FeaturizeOptions(proxy_url="http://proxy", api_key="k-secret")
    spec = _feature_spec(opts, transport=httpx.MockTransport(up))
    assert up.requests[0].headers["X-API-Key"] == "k-secret"
    assert up.calls == [[]]
    assert spec["analyzer"] == "mecab" and "k-secret" not in json.dumps(spec)
    assert "k-secret" not in repr(opts)


def test_concurrency_must_be_positive() -> None:
    from spark_udfs import make_features_udf

    with pytest.raises(ValueError, match="concurrency"):
        make_features_udf("http://proxy", concurrency=0)


def test_the_pacer_keeps_its_spacing_across_share_changes() -> None:
    from spark_udfs._pacer import Pacer

    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.observe(httpx.Headers({POLICY: '"batch";q=10;w=1'}))
    sent: list[float] = []

    async def send_six() -> None:
        for i in range(6):
            await pacer.wait()
            sent.append(clock.now)
            if i == 1:
                pacer.throttled()  # share 1/2: the next gap doubles, no request goes at once
            if i == 3:
                pacer.succeeded()  # share 0.52

    asyncio.run(send_six())
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert gaps == pytest.approx([0.1, 0.2, 0.2, 1 / 5.2, 1 / 5.2])


def test_concurrent_senders_of_a_task_queue_one_interval_apart() -> None:
    from spark_udfs._pacer import Pacer

    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.observe(httpx.Headers({POLICY: '"batch";q=4;w=1'}))
    sent: list[float] = []

    async def one() -> None:
        await pacer.wait()
        sent.append(clock.now)

    async def many() -> None:
        await one()
        pacer.throttled()
        await asyncio.gather(*(one() for _ in range(4)))

    asyncio.run(many())
    assert [b - a for a, b in itertools.pairwise(sent)] == pytest.approx([0.5] * 4)


def test_a_batch_over_the_apis_max_docs_is_halved_until_it_passes() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["docs"]
        return httpx.Response(413, json={"detail": "too many docs"}) if len(docs) > 3 else ok(docs)

    results = features(handler, Clock(), [f"{i}" for i in range(10)])
    assert [r.get("error") for r in results] == [None] * 10
    assert [r["indices"] for r in results] == [[1]] * 10


def test_a_draining_burst_stops_the_share_growing_before_any_429() -> None:
    from spark_udfs._pacer import Pacer

    pacer = Pacer(clock=Clock(), sleep=Clock().sleep)
    policy = {POLICY: '"batch";q=10;w=1;burst=8'}
    pacer.observe(httpx.Headers({**policy, "RateLimit": '"batch";r=6;t=1'}))
    pacer.throttled()
    pacer.succeeded()
    assert pacer.share == pytest.approx(0.52)  # burst well filled: grows
    pacer.observe(httpx.Headers({**policy, "RateLimit": '"batch";r=3;t=1'}))
    pacer.succeeded()
    assert pacer.share == pytest.approx(0.52)  # under half the burst left: holds its share
    pacer.observe(httpx.Headers({**policy, "RateLimit": '"batch";r=0;t=1'}))
    assert pacer.share == pytest.approx(0.52 * 0.9)  # empty: eases off, no 429 needed
