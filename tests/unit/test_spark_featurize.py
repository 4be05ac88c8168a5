"""The featurize job's feature spec and table metadata, against an httpx.MockTransport that
answers like `/v1/features`: the job sends a `contracts.FeatureSpec` and records what the API
answered, refusing an answer that breaks the feature contract."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from contracts import FeatureSpec, FeatureTableInfo, headers, spec_hash
from spark_udfs import ApiIncompatible, FeaturesClient, FeaturizeOptions, InvalidOptions
from spark_udfs._client import resolve_spec
from spark_udfs._featurize import _feature_spec, table_info


class FakeApi:
    """Answers like the API: the request's spec, its hash, the analyzer and its dictionary."""

    def __init__(self, **overrides: Any) -> None:
        self.overrides = overrides
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        self.headers.append(request.headers)
        spec = FeatureSpec.from_json(body["spec"])
        answer = {
            "analyzer": body["analyzer"],
            "analyzer_version": "python-mecab-ko 1.3.7",
            "dictionary": "mecab-ko-dic 2.1.1",
            "num_features": spec.num_features,
            "term_format": "form/TAG",
            "spec": spec.to_json(),
            "spec_hash": spec_hash(spec, body["analyzer"]),
            "results": [{"indices": [1], "values": [1.0]} for _ in body["docs"]],
            **self.overrides,
        }
        return httpx.Response(200, json={k: v for k, v in answer.items() if v is not None})


def probe(api: FakeApi, opts: FeaturizeOptions) -> tuple[dict[str, Any], FeatureTableInfo]:
    answer = _feature_spec(opts, transport=httpx.MockTransport(api))
    return answer, table_info(answer, opts)


def test_the_default_spec_is_the_contracts_default_recipe() -> None:
    opts = FeaturizeOptions(proxy_url="http://proxy")
    assert opts.feature_spec == FeatureSpec()
    assert opts.feature_spec.char_ngram_range is not None  # the default model's recipe
    assert FeaturizeOptions(proxy_url="http://p", num_features=1024).feature_spec == FeatureSpec(
        num_features=1024
    )


def test_the_table_metadata_is_what_the_api_answered() -> None:
    api = FakeApi()
    spec = FeatureSpec(ngram_range=(1, 3), pos_filter=("NN", "VV"), num_features=2**18)
    opts = FeaturizeOptions(proxy_url="http://proxy", spec=spec, api_key="k-secret")
    answer, info = probe(api, opts)
    assert api.bodies == [
        {"analyzer": "mecab", "spec": spec.to_json(), "return_tokens": True, "docs": []}
    ]
    assert api.headers[0][headers.API_KEY] == "k-secret"
    assert info.spec.to_json() == answer["spec"] == spec.to_json()
    assert info.spec_hash == answer["spec_hash"] == spec_hash(spec, "mecab")
    assert (info.analyzer, info.analyzer_version, info.dictionary) == (
        answer["analyzer"],
        answer["analyzer_version"],
        answer["dictionary"],
    )
    assert info.term_format == answer["term_format"] and info.num_features == 2**18
    assert info.user_dictionary is None and info.user_dictionary_version is None
    assert "k-secret" not in json.dumps(info.to_json())


def test_a_user_dictionary_is_sent_and_recorded_as_answered() -> None:
    api = FakeApi(user_dictionary={"name": "movies", "version": "7"})
    opts = FeaturizeOptions(proxy_url="http://proxy", dictionary="movies")
    _, info = probe(api, opts)
    assert api.bodies[0]["dictionary"] == "movies"
    assert (info.user_dictionary, info.user_dictionary_version) == ("movies", "7")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"spec_hash": None}, "lacks spec_hash"),
        ({"spec": None, "spec_hash": None}, "lacks spec, spec_hash"),
        ({"spec_hash": "0123456789abcdef"}, "different versions of the feature contract"),
        (
            {
                "spec": FeatureSpec(binary=True).to_json(),
                "spec_hash": spec_hash(FeatureSpec(binary=True), "mecab"),
            },
            "answered spec",
        ),
    ],
)
def test_an_answer_that_breaks_the_contract_fails_before_spark(
    overrides: dict[str, Any], match: str
) -> None:
    with pytest.raises(ApiIncompatible, match=match):
        probe(FakeApi(**overrides), FeaturizeOptions(proxy_url="http://proxy"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_features": 1000},
        {"num_features": 1024, "spec": FeatureSpec(num_features=2048)},
    ],
)
def test_options_that_break_the_spec_rules_say_so(kwargs: dict[str, Any]) -> None:
    opts = FeaturizeOptions(proxy_url="http://proxy", **kwargs)
    with pytest.raises(InvalidOptions, match="num_features"):
        _ = opts.feature_spec


def test_the_client_sends_its_spec_with_every_batch() -> None:
    api = FakeApi()
    spec = FeatureSpec(stopwords=("영화",), binary=True, num_features=8)

    async def go() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as http:
            client = FeaturesClient(
                http, "http://proxy", analyzer="kiwi", spec=spec, dictionary="d"
            )
            return await client.features(["가", "나"])

    assert [r["indices"] for r in asyncio.run(go())] == [[1], [1]]
    assert api.bodies[0]["spec"] == spec.to_json() and api.bodies[0]["dictionary"] == "d"
    assert "num_features" not in api.bodies[0]
    with pytest.raises(ValueError, match="contradicts"):
        resolve_spec(spec, 16)
