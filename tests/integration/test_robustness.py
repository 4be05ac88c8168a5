"""Hostile input, time limits and workers against real API processes: 4xx or per-doc errors,
never a 5xx, never a dead worker."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlpfeat._services import free_port, service

pytestmark = pytest.mark.jvm

HOSTILE = [
    "😀😀 최고 👍",
    "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ",
    "ㅎㅎ ㅠㅠ ㄷㄷ",
    "韓國映畫 大韓民國",
    "영화\u200b제로\u200c폭\u200d문자\ufeff",
    "제어\x00문자\x01\x07\x1b[31m",
    "שלום عربي 영화 \u202eRTL\u202c",
    "\t\n\r  \n",
    "a" * 2000,
    "가" * 2000,
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 가족",
    "e\u0301 combining",
    "\x1f단위 구분자\x1f",
]
ANALYZERS = ["kiwi", "komoran", "mecab", "okt"]


@pytest.fixture(scope="module")
def api(logs: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        "api",
        "--port",
        str(port),
        "--analyzers",
        "kiwi,kkma,komoran,mecab,okt",
        "--isolate",
        "kkma",
        "--doc-timeout",
        "3",
        "--max-body-bytes",
        str(2**20),
    ]
    with service("api-robust", args, f"{url}/readyz", log_dir=logs, timeout=300):
        yield url


def post(url: str, body: object, path: str = "/v1/analyze") -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=120)


def alive(url: str) -> bool:
    return httpx.get(f"{url}/readyz", timeout=10).status_code == 200


@pytest.mark.parametrize("name", ANALYZERS)
def test_hostile_docs_get_answers_or_per_doc_errors(api: str, name: str) -> None:
    resp = post(api, {"analyzer": name, "docs": HOSTILE})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert len(results) == len(HOSTILE)
    assert sum("tokens" in r for r in results) >= len(HOSTILE) - 2
    assert alive(api)


def test_lone_surrogate_escape_is_a_per_doc_error(api: str) -> None:
    raw = b'{"analyzer": "mecab", "docs": ["\\ud800 broken", "fine"]}'
    resp = httpx.post(
        f"{api}/v1/analyze", content=raw, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 200
    bad, good = resp.json()["results"]
    assert bad["error"]["type"] == "InvalidText" and good["tokens"]


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (json.dumps({"analyzer": "mecab", "docs": ["가" * 100] * 5000}).encode(), 413),
        (b'{"analyzer": "mecab", "docs": ["x"], "pad": "' + b"a" * (3 * 2**20) + b'"}', 413),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b"[" * 20_000 + b"]" * 20_000, 400),
        (json.dumps({"analyzer": "mecab", "docs": ["x"] * 10_000}).encode(), 413),
        (b"\xff\xfe not json", 400),
    ],
)
def test_bodies_too_big_too_deep_or_not_json_are_4xx(api: str, content: bytes, status: int):
    resp = httpx.post(
        f"{api}/v1/analyze",
        content=content,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert status <= resp.status_code < 500 and resp.status_code // 100 == 4, resp.text[:300]
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert alive(api)


def test_a_slow_kkma_doc_times_out_and_the_rest_of_the_batch_is_answered(api: str) -> None:
    docs = ["영화가 재밌어요", "하" * 300, "배우 연기가 좋다"]
    resp = post(api, {"analyzer": "kkma", "docs": docs})
    assert resp.status_code == 200
    first, slow, last = resp.json()["results"]
    assert slow["error"]["type"] == "DocTimeout"
    assert first["tokens"] and last["tokens"]
    again = post(api, {"analyzer": "kkma", "docs": ["다시 분석"]}).json()["results"][0]
    assert again["tokens"]
    assert alive(api)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=st.lists(st.text(max_size=60), max_size=6), name=st.sampled_from(ANALYZERS))
def test_any_text_gets_a_result_per_doc_never_a_5xx(api: str, docs: list[str], name: str):
    resp = post(api, {"analyzer": name, "docs": docs})
    assert resp.status_code == 200, resp.text[:300]
    results = resp.json()["results"]
    assert len(results) == len(docs)
    assert all(("tokens" in r) != ("error" in r) for r in results)


def test_metrics_count_docs_and_errors_per_analyzer(api: str) -> None:
    raw = b'{"analyzer": "mecab", "docs": ["\xec\x98\x81\xed\x99\x94", "\\ud800"]}'
    httpx.post(f"{api}/v1/analyze", content=raw, headers={"content-type": "application/json"})
    text = httpx.get(f"{api}/metrics").text
    assert 'nlp_docs_total{analyzer="mecab",op="pos"}' in text
    assert 'nlp_doc_errors_total{analyzer="mecab",op="pos",type="InvalidText"}' in text
    assert 'nlp_request_seconds_bucket{analyzer="mecab"' in text


def test_two_workers_serve_and_share_metrics(logs: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        "api",
        "--port",
        str(port),
        "--workers",
        "2",
        "--analyzers",
        "mecab,okt",
        "--isolate",
        "",
    ]
    with service("api-2w", args, f"{url}/readyz", log_dir=logs, timeout=180):
        for _ in range(20):
            assert post(url, {"analyzer": "okt", "docs": ["두 워커"]}).status_code == 200
        text = httpx.get(f"{url}/metrics").text
    line = next(x for x in text.splitlines() if x.startswith('nlp_docs_total{analyzer="okt"'))
    assert float(line.split()[-1]) == 20.0


def test_readyz_is_503_until_every_analyzer_is_loaded_and_warm(logs: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["api", "--port", str(port), "--analyzers", "mecab,kkma", "--isolate", "kkma"]
    with service("api-ready", args, f"{url}/healthz", log_dir=logs, timeout=120):
        early = httpx.get(f"{url}/readyz")
        assert early.status_code == 503 and early.headers["retry-after"] == "1"
        assert early.json()["analyzers"]["kkma"] == "loading"
        busy = post(url, {"analyzer": "kkma", "docs": ["아직"]})
        assert busy.status_code == 503 and "not ready" in busy.json()["detail"]
        deadline = time.monotonic() + 180
        while httpx.get(f"{url}/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert post(url, {"analyzer": "kkma", "docs": ["이제 됐다"]}).json()["results"][0]["tokens"]
