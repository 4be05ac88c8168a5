"""Every route of the API, called for real: what it sends validates against the pydantic model it
declares (its handlers encode bytes themselves, so FastAPI never checks them), and a feature
answer is one `contracts.FeatureTableInfo.from_api` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from contracts import TERM_FORMAT, FeatureSpec, FeatureTableInfo, spec_hash
from nlp_api import Analyzer, ApiSettings, Registry, Token, create_app
from nlp_api._dictionaries import DictionaryStore
from nlp_api._registry import UserDictionaryRef, Variant
from nlp_api._variants import make_variant_builder
from nlp_api.analyzers import load_analyzer
from nlp_api.routes import analyze, analyzers, dictionaries, health, metrics

ROUTERS = [m.router for m in (analyze, analyzers, dictionaries, health, metrics)]


class Words(Analyzer):
    """Splits on whitespace; 'boom' fails, as a backend's bug would."""

    name, version, tagset, dictionary = "mecab", "fake 0", "mecab-ko-dic", "none"
    options: dict = {}

    def __init__(self, dictionary: str = "none") -> None:
        self.dictionary = dictionary

    def pos(self, text: str) -> list[Token]:
        if "boom" in text:
            raise RuntimeError("backend crashed")
        return [Token(w, "NNG", 0, len(w)) for w in text.split()]


def fake_variants(backend: str, name: str) -> Variant:
    ref = UserDictionaryRef(name, "0123456789ab")
    return Variant(f"{backend}:{name}:{ref.version}", ref, lambda: Words(f"none + user:{name}"))


class Checked:
    """A client that validates each answer against the model its route declares."""

    def __init__(self, app: FastAPI, client: TestClient) -> None:
        self.client = client
        self.routes = {
            (method, r.path): r
            for router in ROUTERS
            for r in router.routes
            if isinstance(r, APIRoute)
            for method in r.methods
        }
        documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
        assert documented <= set(self.routes), "a router of the app is missing from ROUTERS"
        self.called: set[tuple[str, str]] = set()

    def __call__(self, method: str, path: str, url: str | None = None, **kw: Any) -> httpx.Response:
        route = self.routes[(method, path)]
        if "json" in kw:  # escaped: a lone surrogate is JSON, though not UTF-8
            kw["content"] = json.dumps(kw.pop("json"))
            kw["headers"] = {"content-type": "application/json"}
        resp = self.client.request(method, url or path, **kw)
        assert resp.status_code < 400, resp.text
        declared = route.responses.get(resp.status_code, {}).get("model", route.response_model)
        if declared is None:  # 204, or Prometheus' text format: no JSON to declare
            assert "json" not in resp.headers.get("content-type", ""), f"{method} {path}"
        else:
            TypeAdapter(declared).validate_json(resp.content)
        self.called.add((method, path))
        return resp


@pytest.fixture
def checked(tmp_path: Path) -> Iterator[Checked]:
    settings = ApiSettings(dict_dir=tmp_path, analyzers=("mecab",))
    app = create_app(settings, registry=Registry([Words()], variants=fake_variants))
    with TestClient(app) as client:
        yield Checked(app, client)


def test_every_route_sends_what_its_model_declares(checked: Checked) -> None:
    docs = ["a b", "boom", "", "c \ud800"]
    for op in ("pos", "morphs", "nouns"):
        body = {"analyzer": "mecab", "docs": docs, "op": op}
        checked("POST", "/v1/analyze", json=body)
    with_dictionary = {"analyzer": "mecab", "docs": ["a"], "dictionary": "movies"}
    answer = checked("POST", "/v1/analyze", json=with_dictionary).json()
    assert answer["user_dictionary"] == {"name": "movies", "version": "0123456789ab"}
    for extra in ({}, {"return_terms": True, "return_tokens": True}, {"dictionary": "movies"}):
        checked("POST", "/v1/features", json={"analyzer": "mecab", "docs": docs, **extra})
    checked("GET", "/v1/analyzers")
    word = {"words": [{"form": "꿀잼", "tag": "NNP", "score": 1.5}]}
    checked("PUT", "/v1/dictionaries/{name}", "/v1/dictionaries/movies", json=word)
    checked("PUT", "/v1/dictionaries/{name}", "/v1/dictionaries/movies", json=word)  # 200
    checked("GET", "/v1/dictionaries")
    checked("GET", "/v1/dictionaries/{name}", "/v1/dictionaries/movies")
    checked("DELETE", "/v1/dictionaries/{name}", "/v1/dictionaries/movies")
    checked("GET", "/healthz")
    checked("GET", "/readyz")
    checked("GET", "/metrics")
    assert checked.called == set(checked.routes)


def test_readiness_while_loading_sends_its_declared_503(tmp_path: Path) -> None:
    registry = Registry()
    registry.load_in_background(["mecab"], lambda name: (_ for _ in ()).throw(RuntimeError("x")))
    app = create_app(ApiSettings(dict_dir=tmp_path), registry=registry)
    with TestClient(app) as client:
        resp = client.get("/readyz")
    assert resp.status_code == 503
    route = next(r for r in health.router.routes if isinstance(r, APIRoute) and r.path == "/readyz")
    body = TypeAdapter(route.responses[503]["model"]).validate_json(resp.content)
    assert body.ready is False and body.analyzers["mecab"].startswith(("loading", "failed"))


def test_feature_answers_name_the_recipe(checked: Checked) -> None:
    spec = {"pos_filter": ["NN"], "ngram_range": [1, 1], "num_features": 1024}
    plain = checked("POST", "/v1/features", json={"analyzer": "mecab", "docs": ["a"], "spec": spec})
    body = plain.json()
    assert body["user_dictionary"] is None and body["term_format"] == TERM_FORMAT
    asked = FeatureSpec().replace(**spec)  # a request's spec: what it gives, else the defaults
    assert body["spec"] == asked.to_json()
    assert body["spec_hash"] == spec_hash(asked, "mecab")
    info = FeatureTableInfo.from_api(body)
    assert (info.user_dictionary, info.user_dictionary_version) == (None, None)


def test_a_real_answer_with_a_user_dictionary_makes_a_feature_table_info(tmp_path: Path) -> None:
    """mecab with a user dictionary compiled by its own dict-index, through the app."""
    store = DictionaryStore(tmp_path / "dicts")
    registry = Registry(
        [load_analyzer("mecab")], variants=make_variant_builder(store, tmp_path / ".compiled")
    )
    app = create_app(ApiSettings(dict_dir=store.root, analyzers=("mecab",)), registry=registry)
    with TestClient(app) as client:
        put = client.put(
            "/v1/dictionaries/movies", json={"words": [{"form": "꿀잼", "tag": "NNP"}]}
        )
        version = put.json()["version"]
        body = {
            "analyzer": "mecab",
            "docs": ["이 영화 꿀잼"],
            "dictionary": "movies",
            "spec": {"pos_filter": "nouns", "ngram_range": [1, 1]},
            "return_terms": True,
        }
        answer = client.post("/v1/features", json=body).json()
    assert "꿀잼/NNP" in answer["results"][0]["terms"]
    info = FeatureTableInfo.from_api(answer, input="reviews.tsv")
    assert (info.user_dictionary, info.user_dictionary_version) == ("movies", version)
    assert info.analyzer == "mecab" and info.analyzer_version.startswith("python-mecab-ko")
    assert info.dictionary.endswith(f"+ user:movies@{version}")
    assert info.spec == FeatureSpec(pos_filter="nouns", ngram_range=(1, 1))
    assert info.term_format == TERM_FORMAT and info.job == {"input": "reviews.tsv"}
