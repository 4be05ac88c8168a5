"""The API app with a fake analyzer passed in: per-doc failures stay per doc."""

from __future__ import annotations

from fastapi.testclient import TestClient

from nlp_api import ApiSettings, Registry, Token, create_app


class Whitespace:
    name, version, tagset, dictionary = "mecab", "fake 0", "mecab-ko-dic", "none"
    options: dict = {}

    def pos(self, text: str) -> list[Token]:
        if "boom" in text:
            raise RuntimeError("backend crashed")
        return [Token(w, "NNG") for w in text.split()]


def client() -> TestClient:
    return TestClient(create_app(ApiSettings(), registry=Registry([Whitespace()])))


def test_one_failing_doc_gets_its_own_error_and_the_rest_succeed() -> None:
    with client() as c:
        resp = c.post(
            "/v1/features",
            json={"analyzer": "mecab", "docs": ["a b", "boom", "c"], "return_terms": True},
        )
    assert resp.status_code == 200
    first, bad, last = resp.json()["results"]
    assert first["terms"] == ["a/NNG", "b/NNG", "a/NNG b/NNG"]
    assert bad == {
        "error": {"type": "AnalyzerFailed", "detail": "mecab: RuntimeError: backend crashed"}
    }
    assert last["terms"] == ["c/NNG"]


def test_unknown_analyzer_names_the_loaded_ones() -> None:
    with client() as c:
        resp = c.post("/v1/analyze", json={"analyzer": "okt", "docs": ["a"]})
    assert resp.status_code == 400
    assert resp.json()["detail"] == "analyzer 'okt' is not available; choose one of: mecab"
