"""The batch client's retry and per-row error rules, against an httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pandas as pd

from spark_udfs import FeaturesClient, RetryPolicy, features_frame


def ok(docs: list[str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "analyzer": "mecab",
            "analyzer_version": "test",
            "num_features": 8,
            "results": [{"indices": [len(d) % 8], "values": [1.0], "tokens": [d]} for d in docs],
        },
    )


class Upstream:
    """Answers from a script of responses, then succeeds; records every request's docs."""

    def __init__(self, script: list[httpx.Response | Exception]) -> None:
        self.script = list(script)
        self.calls: list[list[str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["docs"]
        self.calls.append(docs)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return ok(docs)


def client(upstream: Upstream, sleeps: list[float], attempts: int = 5) -> FeaturesClient:
    http = httpx.Client(transport=httpx.MockTransport(upstream))
    return FeaturesClient(
        http,
        "http://proxy",
        analyzer="mecab",
        num_features=8,
        retry=RetryPolicy(attempts=attempts, initial=0.1, cap=5.0),
        sleep=sleeps.append,
    )


def test_429_waits_retry_after_then_succeeds() -> None:
    up, sleeps = Upstream([httpx.Response(429, headers={"Retry-After": "3"})]), []
    results = client(up, sleeps).features(["가", "나다"])
    assert [r["indices"] for r in results] == [[1], [2]]
    assert len(sleeps) == 1 and 3.0 <= sleeps[0] <= 3.5


def test_connection_errors_and_503_back_off_exponentially_with_a_cap() -> None:
    script = [httpx.ConnectError("refused")] * 3 + [httpx.Response(503)]
    up, sleeps = Upstream(script), []
    results = client(up, sleeps).features(["가"])
    assert results[0]["indices"] == [1]
    assert len(sleeps) == 4
    assert sleeps[0] < sleeps[2] and all(s <= 5.0 + 0.1 for s in sleeps)


def test_exhausted_retries_become_per_row_errors() -> None:
    up, sleeps = Upstream([httpx.Response(429, headers={"Retry-After": "1"})] * 10), []
    results = client(up, sleeps, attempts=3).features(["가", "나"])
    assert [r["error"]["type"] for r in results] == ["ApiBusy", "ApiBusy"]
    assert len(up.calls) == 3


def test_a_batch_rejected_as_too_large_is_split_so_only_the_bad_doc_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        docs = json.loads(request.content)["docs"]
        if any(len(d) > 3 for d in docs):
            return httpx.Response(413, json={"detail": "doc too long"})
        return ok(docs)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    results = FeaturesClient(http, "http://p", analyzer="mecab", num_features=8).features(
        ["가", "너무너무길다", "다"]
    )
    assert "indices" in results[0] and "indices" in results[2]
    assert (
        results[1]["error"]["type"] == "ApiRejected" and "too long" in results[1]["error"]["detail"]
    )


def test_features_frame_rebatches_and_marks_null_docs() -> None:
    up, sleeps = Upstream([]), []
    frame = features_frame(client(up, sleeps), pd.Series(["가", None, "나다", "라"]), batch_size=2)
    assert up.calls == [["가"], ["나다", "라"]]
    assert frame["error"].tolist()[1].startswith("NullDocument")
    assert frame["indices"].tolist()[0] == [1] and frame["indices"].tolist()[3] == [1]
    assert list(frame.columns) == ["tokens", "indices", "values", "error"]
