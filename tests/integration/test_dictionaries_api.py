"""User dictionaries across two real API processes that share one dictionary directory.

A PUT on process A is used by process B on its next request, without a restart, for mecab,
kiwi and komoran (JVM). Sentences are real reviews from the bundled sample; their new words
("꿀잼" slang, "다코다패닝" a name) are split by every analyzer without a dictionary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pandas as pd
import pytest

from nlpfeat._services import free_port, service

pytestmark = pytest.mark.jvm

BACKENDS = ("mecab", "kiwi", "komoran")
ANALYZERS = {"api-a": "mecab,kiwi,komoran", "api-b": "mecab,kiwi,komoran,okt"}
HONEY = "7942057"  # 별 기대 안하고 봤는데 꿀잼이네요
DAKOTA = "9879493"  # 다코다패닝  때문에  다시보는  중  꿀잼


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(A, B): A serves mecab, kiwi, komoran; B those and okt; one --dict-dir for both."""
    dict_dir = tmp_path_factory.mktemp("dictionaries")
    logs = tmp_path_factory.mktemp("dictionary-logs")
    urls = []
    with ExitStack() as stack:
        for name, analyzers in ANALYZERS.items():
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            args = ["api", "--port", str(port), "--analyzers", analyzers, "--isolate", ""]
            args += ["--dict-dir", str(dict_dir)]
            stack.enter_context(service(name, args, f"{url}/readyz", log_dir=logs))
            urls.append(url)
        yield urls[0], urls[1]


def _doc(reviews: pd.DataFrame, review_id: str) -> str:
    return reviews.loc[reviews["id"] == review_id, "document"].item()


def _analyze(url: str, analyzer: str, text: str, dictionary: str | None = None) -> httpx.Response:
    body = {"analyzer": analyzer, "docs": [text], "dictionary": dictionary}
    return httpx.post(f"{url}/v1/analyze", json=body, timeout=60)


def _tokens(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return [(t["form"], t["tag"]) for t in response.json()["results"][0]["tokens"]]


def _put(url: str, name: str, words: list[dict]) -> dict:
    response = httpx.put(f"{url}/v1/dictionaries/{name}", json={"words": words}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()


def _assert_problem(response: httpx.Response, status: int, *needles: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    for needle in needles:
        assert needle in body["detail"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_put_on_a_is_used_on_b(apis: tuple[str, str], reviews: pd.DataFrame, backend: str) -> None:
    a, b = apis
    text = _doc(reviews, HONEY)
    info = _put(a, "slang", [{"form": "꿀잼", "tag": "NNP"}])

    before = _tokens(_analyze(b, backend, text))
    assert ("꿀잼", "NNP") not in before
    assert "꿀잼" not in [form for form, _ in before], before

    response = _analyze(b, backend, text, "slang")
    after = _tokens(response)
    assert ("꿀잼", "NNP") in after, after
    assert response.json()["dictionary"].endswith(f" + user:slang@{info['version']}")
    assert (
        _analyze(b, backend, text).json()["dictionary"]
        == response.json()["dictionary"].split(" + user:")[0]
    )


def test_update_delete_seen_on_b_without_restart(
    apis: tuple[str, str], reviews: pd.DataFrame
) -> None:
    a, b = apis
    text = _doc(reviews, DAKOTA)
    first = _put(a, "names", [{"form": "꿀잼", "tag": "NNP"}])
    for backend in BACKENDS:
        tokens = _tokens(_analyze(b, backend, text, "names"))
        assert ("꿀잼", "NNP") in tokens and ("다코다패닝", "NNP") not in tokens, tokens

    second = _put(a, "names", [{"form": "다코다패닝", "tag": "NNP", "score": 1.0}])
    assert second["version"] != first["version"]
    assert httpx.get(f"{b}/v1/dictionaries/names").json()["version"] == second["version"]
    for backend in BACKENDS:
        response = _analyze(b, backend, text, "names")
        tokens = _tokens(response)
        assert ("다코다패닝", "NNP") in tokens and ("꿀잼", "NNP") not in tokens, (backend, tokens)
        assert response.json()["dictionary"].endswith(f"user:names@{second['version']}")

    assert httpx.delete(f"{a}/v1/dictionaries/names").status_code == 204
    _assert_problem(httpx.get(f"{b}/v1/dictionaries/names"), 404, "'names'")
    for backend in BACKENDS:
        _assert_problem(_analyze(b, backend, text, "names"), 404, "'names'")
    _assert_problem(httpx.delete(f"{b}/v1/dictionaries/names"), 404)


def test_errors(apis: tuple[str, str]) -> None:
    a, b = apis
    _put(a, "errors", [{"form": "꿀잼", "tag": "NNP"}])
    _assert_problem(_analyze(b, "okt", "꿀잼", "errors"), 400, "'okt'", "kiwi, komoran, mecab")
    _assert_problem(_analyze(b, "mecab", "꿀잼", "no-such-dictionary"), 404, "no-such-dictionary")
    features = httpx.post(
        f"{b}/v1/features",
        json={"analyzer": "kiwi", "docs": ["꿀잼"], "dictionary": "no-such-dictionary"},
    )
    _assert_problem(features, 404, "no-such-dictionary")
    _put(a, "mecab-only", [{"form": "★★", "tag": "SY"}])
    _assert_problem(_analyze(b, "kiwi", "★★", "mecab-only"), 400, "SY")
    _assert_problem(_analyze(b, "komoran", "★★", "mecab-only"), 400, "SY")
    assert _tokens(_analyze(b, "mecab", "★★", "mecab-only")) == [("★★", "SY")]
    _assert_problem(httpx.put(f"{a}/v1/dictionaries/bad.name", json={"words": []}), 422, "^[A-Za")
    listing = httpx.get(f"{b}/v1/dictionaries").json()
    assert {"errors", "mecab-only"} <= {d["name"] for d in listing}
