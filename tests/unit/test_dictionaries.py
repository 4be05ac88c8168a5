"""User dictionary store, per-backend conversion and the HTTP resource (no analyzers loaded)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nlp_api._app import create_app
from nlp_api._config import ApiSettings
from nlp_api._dictionaries import (
    DictionaryCorrupt,
    DictionaryStore,
    InvalidDictionary,
    UserWord,
)
from nlp_api._errors import DictionaryNotFound, DictionaryUnusable
from nlp_api._registry import Registry
from nlp_api._variants import make_variant_builder
from nlp_api.analyzers._userdict import (
    analyzer_kwargs,
    jongseong,
    mecab_cost,
    mecab_csv_row,
)

WORDS = [UserWord("꿀잼", "NNP"), UserWord("다코다패닝", "NNP", 2.5)]


@pytest.fixture
def store(tmp_path: Path) -> DictionaryStore:
    return DictionaryStore(tmp_path / "dicts")


def test_round_trip(store: DictionaryStore) -> None:
    assert store.names() == []
    info = store.put("movies", WORDS)
    assert (info.name, info.word_count, len(info.version)) == ("movies", 2, 12)
    assert store.names() == ["movies"]
    fresh = DictionaryStore(store.root).get("movies")  # another instance, same directory
    assert fresh == info
    raw = json.loads((store.root / "movies.json").read_text("utf-8"))
    assert raw["version"] == info.version
    assert raw["words"] == [
        {"form": "꿀잼", "tag": "NNP", "score": None},
        {"form": "다코다패닝", "tag": "NNP", "score": 2.5},
    ]
    store.delete("movies")
    assert store.names() == []
    with pytest.raises(DictionaryNotFound):
        store.get("movies")
    with pytest.raises(DictionaryNotFound):
        store.delete("movies")


def test_version_follows_content_only(store: DictionaryStore) -> None:
    first = store.put("d", WORDS)
    again = store.put("d", list(reversed(WORDS)))  # order is not content
    assert again.version == first.version
    assert again.updated_at == first.updated_at  # unchanged PUT: file left as it was
    assert DictionaryStore(store.root).put("other", WORDS).version == first.version
    for changed in (
        [UserWord("꿀잼", "NNG"), WORDS[1]],
        [UserWord("꿀잼", "NNP", 0.0), WORDS[1]],
        WORDS[:1],
    ):
        assert store.put("d", changed).version != first.version
        assert store.get("d").version != first.version


def test_overwrite_is_atomic(store: DictionaryStore) -> None:
    """Readers racing a writer see one complete version or the other, never a torn file."""
    small, big = WORDS[:1], [UserWord(f"단어{i}", "NNG") for i in range(2_000)]
    versions = {store.put("d", small).version, store.put("d", big).version}
    stop, seen, errors = threading.Event(), set(), []

    def read() -> None:
        reader = DictionaryStore(store.root)
        while not stop.is_set():
            try:
                seen.add(reader.get("d").version)
            except Exception as exc:  # any failure is the finding
                errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    for i in range(10):
        store.put("d", big if i % 2 else small)
    stop.set()
    thread.join()
    assert errors == []
    assert seen <= versions and seen
    assert [p.name for p in store.root.iterdir()] == ["d.json"]  # no temporary files left


@pytest.mark.parametrize("name", ["", "a b", "../etc", "x" * 65, "한글", "a.json"])
def test_bad_names(store: DictionaryStore, name: str) -> None:
    with pytest.raises(InvalidDictionary, match=r"must match \^\[A-Za-z0-9_-\]\{1,64\}\$"):
        store.put(name, WORDS)
    with pytest.raises(InvalidDictionary):
        store.get(name)


@pytest.mark.parametrize(
    ("word", "message"),
    [
        (UserWord("", "NNP"), "is empty"),
        (UserWord("꿀 잼", "NNP"), "whitespace or control"),
        (UserWord("꿀\x00잼", "NNP"), "whitespace or control"),
        (UserWord("꿀\u200b잼", "NNP"), "whitespace or control"),
        (UserWord("가" * 101, "NNP"), "longer than 100"),
        (UserWord("꿀잼", ""), "tag"),
        (UserWord("꿀잼", "NN P"), "tag"),
        (UserWord("꿀잼", "N" * 17), "tag"),
        (UserWord("꿀잼", "NNP", float("nan")), "finite"),
    ],
)
def test_bad_words(store: DictionaryStore, word: UserWord, message: str) -> None:
    with pytest.raises(InvalidDictionary, match=message):
        store.put("d", [WORDS[1], word])
    assert store.names() == []


def test_duplicate_forms_are_rejected(store: DictionaryStore) -> None:
    with pytest.raises(InvalidDictionary, match="'꿀잼'"):
        store.put("d", [UserWord("꿀잼", "NNP"), UserWord("꿀잼", "NNG")])


def test_too_many_words(store: DictionaryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nlp_api._dictionaries.MAX_WORDS", 2)
    with pytest.raises(InvalidDictionary, match="at most 2"):
        store.put("d", [UserWord(f"w{i}", "NNG") for i in range(3)])


def test_corrupt_file(store: DictionaryStore) -> None:
    store.root.mkdir(parents=True)
    (store.root / "d.json").write_text("{not json", "utf-8")
    with pytest.raises(DictionaryCorrupt, match="'d'"):
        store.get("d")
    assert store.put("d", WORDS).word_count == 2  # a PUT repairs it


@pytest.mark.parametrize(
    ("form", "tag", "expected"),
    [
        ("꿀잼", "NNP", "T"),  # 잼 ends in ㅁ
        ("다코다", "NNP", "F"),  # 다 has no final consonant
        ("CGV", "NNP", "F"),  # not Hangul: F (NNP has no right id for `*`)
        ("ㅋㅋ", "IC", "F"),
        ("♡", "SY", "*"),
    ],
)
def test_jongseong(form: str, tag: str, expected: str) -> None:
    assert jongseong(form, tag) == expected


def test_mecab_rows_and_cost() -> None:
    assert mecab_csv_row(UserWord("꿀잼", "NNP")) == "꿀잼,,,0,NNP,*,T,꿀잼,*,*,*,*\n"
    assert (
        mecab_csv_row(UserWord("다코다", "NNG", 1.5)) == "다코다,,,-1500,NNG,*,F,다코다,*,*,*,*\n"
    )
    assert mecab_csv_row(UserWord('a,"b', "SL")) == '"a,""b",,,0,SL,*,*,"a,""b",*,*,*,*\n'
    assert (mecab_cost(None), mecab_cost(-5), mecab_cost(1e9), mecab_cost(-1e9)) == (
        0,
        5000,
        -32768,
        32767,
    )


def test_variant_key_follows_puts(store: DictionaryStore, tmp_path: Path) -> None:
    variants = make_variant_builder(store, tmp_path / "cache")
    with pytest.raises(DictionaryNotFound):
        variants("kiwi", "movies")
    first = store.put("movies", WORDS)
    key = variants("kiwi", "movies").key
    assert key == f"kiwi:movies:{first.version}"
    assert variants("kiwi", "movies").dictionary.to_json() == {
        "name": "movies",
        "version": first.version,
    }
    assert variants("kiwi", "movies").key == key
    assert variants("mecab", "movies").key != key
    # a PUT through another store on the same directory (another API instance)
    second = DictionaryStore(store.root).put("movies", WORDS[:1])
    assert variants("kiwi", "movies").key == f"kiwi:movies:{second.version}"
    store.delete("movies")
    with pytest.raises(DictionaryNotFound):
        variants("kiwi", "movies")


def test_variant_rejects_tags_the_backend_lacks(store: DictionaryStore, tmp_path: Path) -> None:
    store.put("d", [UserWord("꿀잼", "NNP"), UserWord("★★", "SY")])
    store.put("closed", [UserWord("뷁", "NNB")])
    variants = make_variant_builder(store, tmp_path)
    assert variants("mecab", "d").key.startswith("mecab:d:")  # SY is mecab-ko-dic's
    for backend in ("kiwi", "komoran"):
        with pytest.raises(DictionaryUnusable, match=f"{backend} takes no user words tagged SY"):
            variants(backend, "d")
    with pytest.raises(DictionaryUnusable, match="NNB"):  # mecab-ko-dic: ids by form
        variants("mecab", "closed")
    assert variants("kiwi", "closed").key.startswith("kiwi:closed:")


def test_analyzer_kwargs(store: DictionaryStore, tmp_path: Path) -> None:
    info = store.put("movies", WORDS)
    label = f"user:movies@{info.version}"
    kiwi = analyzer_kwargs("kiwi", info, tmp_path)
    assert kiwi == {
        "user_words": [("꿀잼", "NNP", 0.0), ("다코다패닝", "NNP", 2.5)],
        "label": label,
    }
    komoran = analyzer_kwargs("komoran", info, tmp_path)
    assert komoran["user_dictionary"] == tmp_path / f"komoran-movies-{info.version}.txt"
    assert komoran["user_dictionary"].read_text("utf-8") == "꿀잼\tNNP\n다코다패닝\tNNP\n"


def test_mecab_dictionary_compiles_once(store: DictionaryStore, tmp_path: Path) -> None:
    info = store.put("movies", WORDS)
    dic = analyzer_kwargs("mecab", info, tmp_path)["user_dictionary"]
    assert dic == tmp_path / f"mecab-movies-{info.version}.dic"
    mtime = os.stat(dic).st_mtime_ns
    assert analyzer_kwargs("mecab", info, tmp_path)["user_dictionary"] == dic
    assert os.stat(dic).st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_http_resource(tmp_path: Path) -> None:
    app = create_app(ApiSettings(dict_dir=tmp_path, analyzers=("mecab",)), registry=Registry())
    word = {"form": "꿀잼", "tag": "NNP"}
    with TestClient(app) as client:
        created = client.put("/v1/dictionaries/movies", json={"words": [word]})
        assert created.status_code == 201
        assert created.headers["location"] == "/v1/dictionaries/movies"
        body = created.json()
        assert body["word_count"] == 1 and len(body["version"]) == 12
        replaced = client.put("/v1/dictionaries/movies", json={"words": [{**word, "score": 1}]})
        assert replaced.status_code == 200
        assert replaced.json()["version"] != body["version"]
        got = client.get("/v1/dictionaries/movies").json()
        assert got["words"] == [{**word, "score": 1.0}]
        listing = client.get("/v1/dictionaries").json()
        assert [(d["name"], d["version"]) for d in listing] == [("movies", got["version"])]
        extra = client.put("/v1/dictionaries/x", json={"words": [], "extra": 1})
        assert extra.status_code == 422
        bad = client.put("/v1/dictionaries/x", json={"words": [{"form": "a b", "tag": "NNP"}]})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        assert "words[0].form" in bad.json()["detail"]
        assert client.delete("/v1/dictionaries/movies").status_code == 204
        missing = client.get("/v1/dictionaries/movies")
        assert missing.status_code == 404
        assert missing.json()["title"] == "Dictionary not found"
        assert client.delete("/v1/dictionaries/movies").status_code == 404
