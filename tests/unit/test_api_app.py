"""The API app with a fake analyzer passed in: per-doc failures stay per doc."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import ValidationError

from contracts import PROBLEM_CONTENT_TYPE, headers, problem_type
from nlp_api import Analyzer, ApiSettings, Registry, Token, create_app
from nlp_api._app import SETTINGS_ENV, app_from_env


class Whitespace(Analyzer):
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
    chars = ["# ", "#a", "# ", "# a", "#a ", "# a ", "# ", "#b", "# ", "# b", "#b ", "# b "]
    assert first["terms"] == ["a/NNG", "b/NNG", "a/NNG b/NNG", *chars]
    assert bad == {
        "error": {"type": "AnalyzerFailed", "detail": "mecab: RuntimeError: backend crashed"}
    }
    assert last["terms"] == ["c/NNG", "# ", "#c", "# ", "# c", "#c ", "# c "]


def test_unknown_analyzer_names_the_loaded_ones() -> None:
    with client() as c:
        resp = c.post("/v1/analyze", json={"analyzer": "okt", "docs": ["a"]})
    assert resp.status_code == 400
    assert resp.json()["detail"] == "analyzer 'okt' is not available; choose one of: mecab"


TOKEN = "s3cret-token"


def guarded(token: str | None = TOKEN) -> TestClient:
    settings = ApiSettings(upstream_token=token)
    return TestClient(create_app(settings, registry=Registry([Whitespace()])))


def analyze(c: TestClient, **headers: str) -> Response:
    return c.post("/v1/analyze", json={"analyzer": "mecab", "docs": ["a"]}, headers=headers)


def test_upstream_token_is_required_when_set() -> None:
    with guarded() as c:
        for resp in (analyze(c), analyze(c, **{headers.UPSTREAM_TOKEN: "wrong"}), c.get("/docs")):
            assert resp.status_code == 401
            assert resp.headers["content-type"] == PROBLEM_CONTENT_TYPE
            body = resp.json()
            assert body["status"] == 401
            assert body["type"] == problem_type("upstream-token-required")
            assert "through the proxy" in body["detail"]
            assert headers.UPSTREAM_TOKEN in body["detail"]
        assert analyze(c, **{headers.UPSTREAM_TOKEN: TOKEN}).status_code == 200


def test_probes_and_scrapes_need_no_upstream_token() -> None:
    with guarded() as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 200
        assert c.get("/metrics").status_code == 200
        assert c.post("/healthz").status_code == 401


def test_without_an_upstream_token_nothing_is_required() -> None:
    with guarded(None) as c:
        assert analyze(c).status_code == 200


def test_workers_get_the_upstream_token_from_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ApiSettings(analyzers=("mecab",), upstream_token=TOKEN)
    assert TOKEN not in repr(settings)
    monkeypatch.setenv(SETTINGS_ENV, settings.model_dump_json())
    c = TestClient(app_from_env())  # no lifespan: nothing loads, the middleware answers first
    assert c.post("/v1/analyze", json={}).status_code == 401


def test_an_upstream_token_must_be_header_safe() -> None:
    with pytest.raises(ValidationError, match="printable ASCII"):
        ApiSettings(upstream_token="has space")


def test_heap_is_settled_after_loading_and_before_the_worker_reports_ready() -> None:
    import gc

    from contracts import GC_GEN0_THRESHOLD, settle_heap

    registry = Registry()
    seen: list[tuple[bool, dict[str, str]]] = []

    def then() -> None:
        seen.append((registry.ready, registry.states()))
        settle_heap()

    before = gc.get_threshold()
    try:
        registry.load(["mecab"], lambda name: Whitespace(), then=then)
        assert seen == [(False, {"mecab": "loading"})]
        assert registry.ready and gc.get_threshold()[0] == GC_GEN0_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
