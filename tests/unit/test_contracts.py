"""The contracts package: what it promises, and that no stage restates it.

The last tests read every stage's source: a string literal equal to a contract value (a header
name, a file name of the feature table or the model repository, a problem `type`, the hashing
scheme's name, an ONNX tensor name where a graph is built or run) means a stage defines the
contract again, and a change to `contracts` would silently miss it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import contracts
from contracts import (
    HASHING,
    METADATA_FILENAME,
    MODEL_FILENAME,
    FeatureSpec,
    FeatureTableInfo,
    InvalidSpec,
    ModelRepository,
    RepositoryError,
    TableMetadataError,
    headers,
)

ROOT = Path(__file__).resolve().parents[2]
STAGES = ["nlp_api", "proxy", "spark_udfs", "training", "serving", "nlpfeat"]


# -- the feature spec ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"ngram_range": (1, 9)}, "ngram_range"),
        ({"ngram_range": (1,)}, "two integers"),
        ({"pos_filter": "verbs"}, "not a group"),
        ({"pos_filter": ()}, "tag prefixes"),
        ({"stopwords": (1,)}, "strings"),
        ({"binary": 1}, "true or false"),
        ({"num_features": 1000}, "power of two, e.g. 1024"),
        ({"num_features": True}, "integer"),
        ({"num_features": 2**31}, "integer"),
        ({"char_ngram_range": (0, 4)}, "char_ngram_range"),
        ({"char_ngram_range": (1, 7)}, "char_ngram_range"),
        ({"char_ngram_range": 4}, "char_ngram_range must be two integers"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_rule(changes: dict[str, object], says: str) -> None:
    with pytest.raises(InvalidSpec, match=says):
        FeatureSpec(**changes)  # type: ignore[arg-type]


def test_unknown_spec_fields_are_named_with_the_known_ones() -> None:
    with pytest.raises(InvalidSpec, match=r"ngram\b.*known: binary"):
        FeatureSpec.from_json({"ngram": [1, 2]})


specs = st.builds(
    FeatureSpec,
    ngram_range=st.tuples(st.integers(1, 3), st.integers(3, 5)),
    pos_filter=st.one_of(
        st.sampled_from(contracts.POS_GROUPS),
        st.lists(st.sampled_from(["NN", "VV", "VA", "MAG"]), min_size=1, max_size=3).map(tuple),
    ),
    stopwords=st.lists(st.text(min_size=1, max_size=4), max_size=4).map(tuple),
    binary=st.booleans(),
    num_features=st.integers(1, 30).map(lambda k: 2**k),
    char_ngram_range=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(3, 6))),
    text_char_ngram_range=st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(3, 6))),
)


@given(specs)
def test_spec_json_round_trips_through_text(spec: FeatureSpec) -> None:
    again = FeatureSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec
    assert contracts.spec_hash(again, "mecab") == contracts.spec_hash(spec, "mecab")


def test_spec_hash_is_the_documented_canonical_digest() -> None:
    # Written out by hand: keys sorted, compact, UTF-8.
    spec = FeatureSpec(pos_filter="nouns", stopwords=("영화",), num_features=1024)
    text = (
        '{"analyzer":"kiwi","binary":false,"char_ngram_range":[1,4],"hashing":"' + HASHING + '",'
        '"ngram_range":[1,3],"num_features":1024,"pos_filter":"nouns","stopwords":["영화"],'
        '"text_char_ngram_range":[3,5]}'
    )
    assert contracts.spec_hash(spec, "kiwi") == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert contracts.spec_hash(spec, "kiwi") != contracts.spec_hash(spec, "mecab")
    assert contracts.spec_hash(spec, "kiwi") != contracts.spec_hash(
        spec.replace(binary=True), "kiwi"
    )
    assert contracts.spec_hash(spec, "kiwi") != contracts.spec_hash(
        spec.replace(char_ngram_range=[2, 4]), "kiwi"
    )


def test_a_spec_without_character_ngrams_keeps_the_hash_it_had_before_they_existed() -> None:
    # Tables and models already on disk carry this hash, and their JSON lacks the field.
    old = {"ngram_range": [1, 2], "pos_filter": "nouns", "stopwords": ["영화"], "binary": False}
    text = (
        '{"analyzer":"kiwi","binary":false,"hashing":"' + HASHING + '","ngram_range":[1,2],'
        '"num_features":1024,"pos_filter":"nouns","stopwords":["영화"]}'
    )
    spec = FeatureSpec.from_json({**old, "num_features": 1024})
    assert spec.char_ngram_range is None
    assert spec.to_json()["char_ngram_range"] is None
    assert contracts.spec_hash(spec, "kiwi") == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert FeatureSpec.from_json(spec.to_json()) == spec


def test_the_default_spec_is_the_default_models_recipe() -> None:
    spec = FeatureSpec()
    assert (spec.ngram_range, spec.char_ngram_range) == ((1, 3), (1, 4))
    assert spec.num_features == contracts.DEFAULT_NUM_FEATURES
    assert FeatureSpec.from_json(spec.to_json()) == spec


# -- hashing ---------------------------------------------------------------------------------------


def test_terms_are_the_ngrams_of_consecutive_unigrams() -> None:
    grams = contracts.ngram_terms(["a/N", "b/V", "c/E"], (1, 2))
    assert grams == ["a/N", "b/V", "c/E", "a/N b/V", "b/V c/E"]
    assert contracts.ngram_terms(["a/N"], (2, 3)) == []


def test_hash_terms_counts_collisions_on_sorted_columns() -> None:
    terms = [f"t{i}" for i in range(50)] * 2
    indices, values = contracts.hash_terms(terms, 16)
    assert indices == sorted(set(indices))
    assert sum(values) == len(terms)
    assert all(0 <= i < 16 for i in indices)
    expected = {i: 0.0 for i in indices}
    for t in terms:
        expected[contracts.term_index(t, 16)] += 1.0
    assert values == [expected[i] for i in indices]


# -- the feature table's metadata ----------------------------------------------------------------


def _answer(spec: FeatureSpec, **extra: object) -> dict[str, object]:
    return {
        "spec": spec.to_json(),
        "spec_hash": contracts.spec_hash(spec, "mecab"),
        "analyzer": "mecab",
        "analyzer_version": "1.0.9",
        "dictionary": "mecab-ko-dic-2.1.1",
        "term_format": contracts.TERM_FORMAT,
        "results": [{"indices": [1], "values": [1.0]}],
        **extra,
    }


def test_table_info_records_the_answer_and_round_trips(tmp_path: Path) -> None:
    spec = FeatureSpec(ngram_range=(1, 3), stopwords=("은",))
    answer = _answer(spec, user_dictionary={"name": "movies", "version": "3"})
    info = FeatureTableInfo.from_api(answer, input="reviews.tsv").with_job(rows=10)
    path = contracts.write_table_info(tmp_path, info)
    assert path.name == contracts.TABLE_METADATA_FILENAME
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left behind
    back = contracts.read_table_info(tmp_path)
    assert back == info
    assert (back.spec, back.num_features) == (spec, spec.num_features)
    assert (back.user_dictionary, back.user_dictionary_version) == ("movies", "3")
    assert back.job == {"input": "reviews.tsv", "rows": 10}


def test_table_info_refuses_an_answer_whose_hash_disagrees() -> None:
    answer = _answer(FeatureSpec(), spec_hash="0" * 16)
    with pytest.raises(TableMetadataError, match="different versions of the feature contract"):
        FeatureTableInfo.from_api(answer)
    with pytest.raises(TableMetadataError, match="lacks spec_hash"):
        FeatureTableInfo.from_api(
            {k: v for k, v in _answer(FeatureSpec()).items() if k != "spec_hash"}
        )


def test_reading_a_table_info_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(TableMetadataError, match="nlpfeat featurize"):
        contracts.read_table_info(tmp_path)
    info = FeatureTableInfo.from_api(_answer(FeatureSpec()))
    contracts.write_table_info(tmp_path, info)
    target = tmp_path / contracts.TABLE_METADATA_FILENAME
    edited = json.loads(target.read_text()) | {"spec": FeatureSpec(binary=True).to_json()}
    target.write_text(json.dumps(edited))
    with pytest.raises(TableMetadataError, match="edited by hand"):
        contracts.read_table_info(tmp_path)


# -- the model repository ------------------------------------------------------------------------


def test_repository_versions_count_only_complete_writes(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    assert repo.names() == [] and repo.latest("m") is None
    v1, _ = repo.write_version("m", b"one", {"accuracy": 0.5})
    (tmp_path / "m" / "7").mkdir()  # a crashed write: no files
    (tmp_path / "m" / ".tmp-x").mkdir()
    v2, path = repo.write_version("m", b"two", {"accuracy": 0.6})
    assert (v1, v2) == (1, 8)  # a broken number is never reused
    assert repo.versions("m") == [1, 8] and repo.latest("m") == 8
    assert repo.names() == ["m"]
    assert repo.model_path("m", 8).read_bytes() == b"two" == (path / MODEL_FILENAME).read_bytes()
    assert repo.read_metadata("m", 8) == {"accuracy": 0.6, "name": "m", "version": 8}
    assert (path / METADATA_FILENAME).is_file()


def test_concurrent_writers_never_share_a_version(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    taken: list[int] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        version, _ = repo.write_version("m", str(i).encode(), {"i": i})
        with lock:
            taken.append(version)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(1, 13))
    assert {repo.read_metadata("m", v)["i"] for v in taken} == set(range(12))


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 65])
def test_repository_refuses_names_that_are_not_plain_directories(tmp_path: Path, name: str) -> None:
    with pytest.raises(RepositoryError, match="invalid model name"):
        ModelRepository(tmp_path).write_version(name, b"", {})


def test_reading_missing_metadata_says_which_version(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="no version 3 of model 'm'"):
        ModelRepository(tmp_path).read_metadata("m", 3)


# -- ONNX ------------------------------------------------------------------------------------------


def test_padding_keeps_every_value_in_its_row() -> None:
    rows = [([3, 1], [1.0, 2.0]), ([], []), ([5], [0.5])]
    indices, values = contracts.pad_rows(rows)
    assert indices.dtype == np.int64 and values.dtype == np.float32
    assert indices.shape == values.shape == (3, 2)
    dense = np.zeros((3, 8))
    for r in range(3):
        np.add.at(dense[r], indices[r], values[r])
    expected = np.zeros((3, 8))
    for r, (ix, vs) in enumerate(rows):
        expected[r, ix] = vs
    assert np.array_equal(dense, expected)
    assert contracts.pad_rows([])[0].shape == (0, 0)
    with pytest.raises(ValueError, match="as many values"):
        contracts.pad_rows([([1], [])])


def test_onnx_names_are_distinct_and_typed() -> None:
    names = [t.name for t in (*contracts.ONNX_INPUTS, *contracts.ONNX_OUTPUTS)]
    assert len(set(names)) == 4
    assert {t.datatype for t in contracts.ONNX_INPUTS} == {"INT64", "FP32"}


# -- problems ----------------------------------------------------------------------------------


def test_problem_bodies_share_one_type_scheme() -> None:
    body = contracts.problem_body(429, "slow down", slug="rate-limited", retry_after=2)
    assert body == {
        "type": contracts.PROBLEM_TYPE_BASE + "rate-limited",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "slow down",
        "retry_after": 2,
    }
    assert contracts.problem_body(404, "x")["type"].endswith(":not-found")
    with pytest.raises(ValueError, match="kebab-case"):
        contracts.problem_type("Rate Limited")


# -- no stage restates a contract ----------------------------------------------------------------

_HEADER_NAMES = {
    getattr(headers, n).lower() for n in headers.__all__ if n not in {"INTERACTIVE", "BATCH"}
}
_VALUES = {
    contracts.HASHING,
    contracts.TERM_FORMAT,
    contracts.TABLE_METADATA_FILENAME,
    contracts.MODEL_FILENAME,
    contracts.METADATA_FILENAME,
    contracts.PROBLEM_CONTENT_TYPE,
    "about:blank",
}
_ONNX_NAMES = {t.name for t in (*contracts.ONNX_INPUTS, *contracts.ONNX_OUTPUTS)}
_CONSTANTS = {n for n in contracts.__all__ if n.isupper()} | {
    n for n in headers.__all__ if n.isupper()
}


def restated_contracts(source: str) -> list[str]:
    """Each place in `source` that defines a contract itself, as 'line: what'."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    runs_onnx = bool(imported & {"onnx", "onnxruntime"})
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings:
                continue
            text = node.value
            if (
                text in _VALUES
                or text.lower() in _HEADER_NAMES
                or text.startswith(contracts.PROBLEM_TYPE_BASE)
                or (runs_onnx and text in _ONNX_NAMES)
            ):
                found.append(f"{node.lineno}: {text!r}")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in _CONSTANTS:
                    found.append(f"{node.lineno}: defines {target.id}")
    return sorted(found, key=lambda f: int(f.split(":")[0]))


def test_the_scanner_finds_a_restated_contract() -> None:
    source = (
        '"""Docstrings may say X-Upstream-Token."""\n'
        "import onnxruntime\n"
        'TOKEN = "X-Upstream-Token"\n'
        'headers = {"x-api-key": key}\n'
        'path = root / "model.onnx"\n'
        'kind = "urn:nlpfeat:problem:rate-limited"\n'
        'feed = {"indices": ix}\n'
        "HASHING = 'mine'\n"
        'fine = ("X-API-Key is needed", "batch")\n'
    )
    assert [f.split(":")[0] for f in restated_contracts(source)] == ["3", "4", "5", "6", "7", "8"]


@pytest.mark.parametrize("package", STAGES)
def test_no_stage_defines_a_contract_itself(package: str) -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / package).rglob("*.py"))
        if (hits := restated_contracts(path.read_text(encoding="utf-8")))
    }
    assert found == {}, f"use the constants of `contracts` instead: {found}"


# -- the model registry --------------------------------------------------------------------------


def test_registry_aliases_move_with_who_and_why_and_archive_the_old(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    for i in range(3):
        repo.write_version("m", b"x", {"i": i})
    registry = contracts.ModelRegistry(repo)
    assert registry.aliases("m") == {} and registry.stage("m", 1) is None
    registry.set_alias("m", contracts.PRODUCTION, 1, by="ci", reason="first model")
    registry.set_alias("m", contracts.CANDIDATE, 2, by="ci", reason="trained")
    entry = registry.set_alias(
        "m", contracts.PRODUCTION, 2, by="alice", reason="gate passed", gate={"verdict": "pass"}
    )
    assert entry["previous"] == 1 and entry["gate"] == {"verdict": "pass"}
    assert registry.resolve("m", contracts.PRODUCTION) == 2
    assert [registry.stage("m", v) for v in (1, 2, 3)] == ["archived", "production", None]
    assert [e["by"] for e in registry.history("m")] == ["ci", "ci", "alice"]
    with pytest.raises(RepositoryError, match="has no version 9"):
        registry.set_alias("m", contracts.PRODUCTION, 9, by="x", reason="typo")
    with pytest.raises(RepositoryError, match="say why"):
        registry.set_alias("m", contracts.PRODUCTION, 3, by="x", reason=" ")
    assert repo.versions("m") == [1, 2, 3]  # the registry file is not a version


def test_concurrent_alias_changes_all_land_in_the_history(tmp_path: Path) -> None:
    repo = ModelRepository(tmp_path)
    repo.write_version("m", b"x", {})
    registry = contracts.ModelRegistry(tmp_path)
    threads = [
        threading.Thread(
            target=registry.set_alias, args=("m", f"a{i}", 1), kwargs={"by": "t", "reason": "r"}
        )
        for i in range(16)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(registry.history("m")) == 16 and len(registry.aliases("m")) == 16
