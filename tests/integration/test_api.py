"""The NLP API as a real uvicorn process: contract, per-doc errors, problem+json."""

from __future__ import annotations

import httpx
import mecab
import pytest

from contracts import PROBLEM_CONTENT_TYPE, FeatureTableInfo, problem_type

pytestmark = pytest.mark.jvm

PROBLEM = PROBLEM_CONTENT_TYPE


def post(url: str, path: str, body: object) -> httpx.Response:
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def test_mecab_tokens_are_the_librarys_own(api_url: str, reviews) -> None:
    docs = reviews["document"].fillna("").tolist()[:200]
    resp = post(api_url, "/v1/analyze", {"analyzer": "mecab", "docs": docs})
    assert resp.status_code == 200
    body = resp.json()
    assert body["analyzer"] == "mecab" and body["analyzer_version"].startswith("python-mecab-ko")
    tagger = mecab.MeCab()
    expected = [
        [(m.surface, m.feature.pos) for m in tagger.parse(d)] if d.strip() else [] for d in docs
    ]
    got = [[(t["form"], t["tag"]) for t in r["tokens"]] for r in body["results"]]
    assert got == expected
    first = body["results"][0]["tokens"][0]
    assert docs[0][first["start"] : first["end"]] == first["form"]


def test_okt_on_the_jvm_and_empty_docs(api_url: str) -> None:
    resp = post(
        api_url, "/v1/analyze", {"analyzer": "okt", "docs": ["아버지가 방에 들어가신다", ""]}
    )
    assert resp.status_code == 200
    tokens, empty = resp.json()["results"]
    assert [(t["form"], t["tag"]) for t in tokens["tokens"]][:2] == [
        ("아버지", "Noun"),
        ("가", "Josa"),
    ]
    assert empty == {"tokens": []}


def test_features_are_sorted_counts_of_unigrams_and_bigrams(api_url: str) -> None:
    body = post(
        api_url,
        "/v1/features",
        {
            "analyzer": "mecab",
            "docs": ["영화 영화 영화"],
            "spec": {
                "ngram_range": [1, 2],
                "char_ngram_range": None,
                "text_char_ngram_range": None,
                "num_features": 1024,
            },
            "return_terms": True,
            "return_tokens": True,
        },
    ).json()
    result = body["results"][0]
    assert result["tokens"] == ["영화/NNG"] * 3
    assert result["terms"] == ["영화/NNG"] * 3 + ["영화/NNG 영화/NNG"] * 2
    assert result["indices"] == sorted(result["indices"]) and len(result["indices"]) == 2
    assert sorted(result["values"]) == [2.0, 3.0]
    assert all(0 <= i < 1024 for i in result["indices"])


@pytest.mark.parametrize(
    ("path", "body", "status", "needle", "slug"),
    [
        ("/v1/analyze", {"analyzer": "nope", "docs": ["x"]}, 400, "mecab, okt", "unknown-analyzer"),
        ("/v1/analyze", {"analyzer": "mecab", "docs": [1, 2]}, 422, "docs", "validation-error"),
        ("/v1/analyze", {"docs": ["x"]}, 422, "analyzer", "validation-error"),
        ("/v1/features", {"analyzer": "mecab", "docs": "x"}, 422, "docs", "validation-error"),
        (
            "/v1/features",
            {"analyzer": "mecab", "docs": ["x"], "num_features": 0},
            422,
            "num",
            "validation-error",
        ),
        (
            "/v1/analyze",
            {"analyzer": "mecab", "docs": ["x"] * 201},
            413,
            "limit is 200",
            "payload-too-large",
        ),
        (
            "/v1/features",
            {"analyzer": "mecab", "docs": ["ok", "가" * 501]},
            413,
            "doc 1",
            "payload-too-large",
        ),
        (
            "/v1/analyze",
            {"analyzer": "okt", "docs": ["x"], "dictionary": "d"},
            400,
            "kiwi, komoran, mecab",
            "dictionary-unsupported",
        ),
    ],
)
def test_bad_input_gets_problem_json(
    api_url: str, path: str, body: object, status: int, needle: str, slug: str
) -> None:
    resp = post(api_url, path, body)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith(PROBLEM)
    problem = resp.json()
    assert problem["status"] == status and needle in str(problem)
    assert problem["type"] == problem_type(slug)


def test_malformed_json_is_422_and_worker_survives(api_url: str) -> None:
    resp = httpx.post(
        f"{api_url}/v1/analyze",
        content=b'{"analyzer": "mecab", "docs": [',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert httpx.get(f"{api_url}/healthz").json()["status"] == "ok"


def test_openapi_docs(api_url: str) -> None:
    assert httpx.get(f"{api_url}/docs").status_code == 200
    paths = httpx.get(f"{api_url}/openapi.json").json()["paths"]
    assert {"/v1/analyze", "/v1/features", "/healthz"} <= set(paths)


def test_feature_spec_filters_and_comes_back_with_its_hash(api_url: str) -> None:
    doc = ["영화가 정말 너무 재밌어요"]

    def terms(spec: dict) -> dict:
        body = {"analyzer": "mecab", "docs": doc, "spec": spec, "return_terms": True}
        resp = post(api_url, "/v1/features", body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    everything = terms({})
    morphemes_only = {
        "ngram_range": [1, 1],
        "char_ngram_range": None,
        "text_char_ngram_range": None,
    }
    content = terms({"pos_filter": "nouns", "binary": True, **morphemes_only})
    no_stop = terms({"pos_filter": "content", "stopwords": ["정말"], **morphemes_only})
    assert content["results"][0]["terms"] == ["영화/NNG"]
    assert content["results"][0]["values"] == [1.0]
    assert "정말/MAG" not in no_stop["results"][0]["terms"]
    assert "너무/MAG" in no_stop["results"][0]["terms"]
    assert len(everything["results"][0]["terms"]) > len(no_stop["results"][0]["terms"])
    assert content["spec"]["pos_filter"] == "nouns"
    hashes = {everything["spec_hash"], content["spec_hash"], no_stop["spec_hash"]}
    assert len(hashes) == 3 and everything["spec_hash"] == terms({})["spec_hash"]
    for answer in (everything, content, no_stop):  # what a Spark job records of it
        info = FeatureTableInfo.from_api(answer)
        assert info.spec_hash == answer["spec_hash"] and info.user_dictionary is None


@pytest.mark.parametrize(
    "body",
    [
        {"num_features": 1000},
        {"spec": {"num_features": 1000}},
        {"spec": {"ngram_range": [2, 1]}},
        {"spec": {"pos_filter": "verbs-only"}},
        {"num_features": 1024, "spec": {"num_features": 2048}},
    ],
)
def test_bad_feature_specs_are_422(api_url: str, body: dict) -> None:
    resp = post(api_url, "/v1/features", {"analyzer": "mecab", "docs": ["x"], **body})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(PROBLEM)
