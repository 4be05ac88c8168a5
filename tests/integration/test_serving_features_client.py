"""The real aiohttp FeaturesClient (and the app using it) against a local HTTP server that
plays the features proxy, including its failure modes."""

from __future__ import annotations

import asyncio
import socket
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from aiohttp import web
from starlette.exceptions import StarletteDeprecationWarning

from contracts import FeatureSpec, FeatureTableInfo, spec_hash, write_table_info
from serving import FeaturesClient, ServingError, ServingSettings, create_app
from serving._errors import UpstreamError, UpstreamThrottled, UpstreamUnavailable

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx`", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

NUM_FEATURES = 1 << 10
SPEC = FeatureSpec(num_features=NUM_FEATURES)
API_KEYS = web.AppKey("api_keys", list)
BODIES = web.AppKey("bodies", list)


async def _features(request: web.Request) -> web.Response:
    """Answers by the first doc: '429', '500', '503', 'badjson', 'short', 'slow', 'drift'
    (another spec_hash) or features, with the spec and spec_hash as the API answers them."""
    request.app[API_KEYS].append(request.headers.get("X-API-Key"))
    body = await request.json()
    request.app[BODIES].append(body)
    docs, first = body["docs"], body["docs"][0]
    if first == "429":
        return web.json_response({"detail": "slow down"}, status=429, headers={"Retry-After": "3"})
    if first in ("500", "503"):
        headers = {"Retry-After": "5"} if first == "503" else None
        return web.json_response({"detail": "kaput"}, status=int(first), headers=headers)
    if first == "badjson":
        return web.Response(text="<html>")
    if first == "slow":
        await asyncio.sleep(2)
    results: list[dict[str, Any]] = [
        {"indices": [len(doc) % NUM_FEATURES], "values": [1.0], "error": None} for doc in docs
    ]
    if first == "short":
        results = results[:-1]
    spec = FeatureSpec.from_json(body["spec"])
    digest = spec_hash(spec.replace(binary=True) if first == "drift" else spec, body["analyzer"])
    answer = {"analyzer": body["analyzer"], "spec": spec.to_json(), "spec_hash": digest}
    return web.json_response({**answer, "results": results})


class _Server:
    """An aiohttp app served from its own thread and event loop."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.api_keys: list[str | None] = []  # X-API-Key of each request, in order
        self.bodies: list[dict[str, Any]] = []

    def _run(self) -> None:
        app = web.Application()
        app[API_KEYS] = self.api_keys
        app[BODIES] = self.bodies
        app.router.add_post("/v1/features", _features)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.SockSite(runner, self.sock).start())
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def __enter__(self) -> _Server:
        self.thread.start()
        self.started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    with _Server() as running:
        yield running


def call(
    url: str,
    docs: list[str],
    timeout: float = 5.0,
    api_key: str | None = None,
    dictionary: str | None = None,
) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with FeaturesClient(url, timeout=timeout, api_key=api_key) as client:
            return await client.features(docs, "mecab", SPEC, dictionary=dictionary)

    return asyncio.run(go())


def test_features_round_trip(server: _Server) -> None:
    results = call(server.url + "/", ["a", "abc"])
    assert [r["indices"] for r in results] == [[1], [3]]


def test_the_model_spec_and_dictionary_are_sent(server: _Server) -> None:
    call(server.url, ["a"], dictionary="movies")
    call(server.url, ["a"])
    with_dictionary, without = server.bodies[-2:]
    assert with_dictionary == {
        "analyzer": "mecab",
        "docs": ["a"],
        "spec": SPEC.to_json(),
        "dictionary": "movies",
    }
    assert "dictionary" not in without and without["spec"] == SPEC.to_json()


def test_an_answer_with_another_spec_hash_is_refused(server: _Server) -> None:
    with pytest.raises(UpstreamError, match="spec_hash"):
        call(server.url, ["drift"])


def test_the_api_key_is_sent_only_when_configured(server: _Server) -> None:
    call(server.url, ["a"], api_key="k-serving")
    call(server.url, ["a"])
    assert server.api_keys[-2:] == ["k-serving", None]


@pytest.mark.parametrize(
    ("first", "error", "retry_after"),
    [
        ("429", UpstreamThrottled, "3"),
        ("503", UpstreamUnavailable, "5"),
        ("500", UpstreamError, None),
        ("badjson", UpstreamError, None),
        ("short", UpstreamError, None),
    ],
)
def test_upstream_failures_are_translated(
    server: _Server, first: str, error: type[UpstreamError], retry_after: str | None
) -> None:
    with pytest.raises(error) as info:
        call(server.url, [first, "x"])
    assert type(info.value) is error
    assert info.value.retry_after == retry_after


def test_timeout_and_refused_are_unavailable(server: _Server) -> None:
    with pytest.raises(UpstreamUnavailable, match="timed out"):
        call(server.url, ["slow"], timeout=0.3)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(UpstreamUnavailable, match="cannot reach"):
        call(f"http://127.0.0.1:{port}", ["a"])


def test_unopened_client_refuses() -> None:
    with pytest.raises(RuntimeError):
        asyncio.run(FeaturesClient("http://127.0.0.1:1").features(["a"], "mecab", SPEC))


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A tiny model trained by the real training package (weights favour index 3)."""
    from training import train

    features = tmp_path / "features.parquet"
    features.mkdir()
    n = 40
    table = pa.table(
        {
            "label": pa.array([i % 2 for i in range(n)], pa.int32()),
            "indices": pa.array([[3] if i % 2 else [1] for i in range(n)], pa.list_(pa.int32())),
            "values": pa.array([[1.0]] * n, pa.list_(pa.float64())),
            "error": pa.nulls(n, pa.string()),
        }
    )
    pq.write_table(table, features / "part-0.parquet")
    answer = {
        "analyzer": "mecab",
        "analyzer_version": "x",
        "dictionary": "mecab-ko-dic",
        "spec": SPEC.to_json(),
        "spec_hash": spec_hash(SPEC, "mecab"),
    }
    write_table_info(features, FeatureTableInfo.from_api(answer))
    train(features, tmp_path / "models", name="toy", test_size=0.25)
    return tmp_path / "models"


def test_app_with_real_client(server: _Server, models_dir: Path) -> None:
    settings = ServingSettings(
        models_dir=models_dir, proxy_url=server.url, timeout=5, api_key="k-app"
    )
    assert "k-app" not in repr(settings)
    with TestClient(create_app(settings)) as client:
        body = client.post("/v1/predict", json={"texts": ["abc", "a"]}).json()
        assert server.api_keys[-1] == "k-app"
        assert [p["label"] for p in body["predictions"]] == [1, 0]
        assert body["predictions"][0]["probability"] > 0.5 > body["predictions"][1]["probability"]
        response = client.post("/v1/predict", json={"texts": ["429"]})
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        assert response.headers["content-type"].startswith("application/problem+json")
        response = client.post("/v1/predict", json={"texts": ["500"]})
        assert response.status_code == 502


def test_serving_error_is_public() -> None:
    assert issubclass(UpstreamError, ServingError)
