"""All six analyzers behind one contract, against a real API process; golden files prove the API
gives exactly what each library gives when called directly."""

from __future__ import annotations

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import httpx
import pytest

from nlp_api.analyzers import tag_group

pytestmark = pytest.mark.jvm

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ANALYZERS = ["hannanum", "kiwi", "kkma", "komoran", "mecab", "okt"]


@cache
def golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def analyze(url: str, analyzer: str, docs: list[str], **extra) -> dict:
    resp = httpx.post(
        f"{url}/v1/analyze", json={"analyzer": analyzer, "docs": docs, **extra}, timeout=120
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.parametrize("name", ANALYZERS)
def test_api_output_equals_the_golden_file(api_all_url: str, name: str) -> None:
    gold = golden(name)
    body = analyze(api_all_url, name, gold["docs"])
    for doc, want, got in zip(gold["docs"], gold["tokens"], body["results"], strict=True):
        if want is None:  # the library itself fails on this doc: a per-doc error, not a 5xx
            assert "error" in got, doc
        else:
            assert [[t["form"], t["tag"]] for t in got["tokens"]] == want, doc


@pytest.mark.parametrize("name", ANALYZERS)
def test_the_library_called_directly_still_equals_the_golden_file(name: str) -> None:
    spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pos = module.library_pos(name)
    gold = golden(name)
    assert [module._tokens(pos, d) for d in gold["docs"]] == gold["tokens"]


@pytest.mark.parametrize("name", ANALYZERS)
def test_contract_pos_morphs_nouns_agree(api_all_url: str, name: str) -> None:
    docs = [d for d, t in zip(golden(name)["docs"], golden(name)["tokens"], strict=True) if t]
    pos = analyze(api_all_url, name, docs)
    morphs = analyze(api_all_url, name, docs, op="morphs")
    nouns = analyze(api_all_url, name, docs, op="nouns")
    for body in (pos, morphs, nouns):
        assert body["analyzer"] == name and body["analyzer_version"] and body["dictionary"]
    tagset = json.loads(httpx.get(f"{api_all_url}/v1/analyzers").text)
    tagset = next(a["tagset"] for a in tagset if a["name"] == name)
    noun_tags = tag_group(tagset, "nouns")
    total_nouns = 0
    for doc, p, m, n in zip(docs, pos["results"], morphs["results"], nouns["results"], strict=True):
        assert m["morphs"] == [t["form"] for t in p["tokens"]]
        assert n["nouns"] == [t["form"] for t in p["tokens"] if t["tag"].startswith(noun_tags)]
        total_nouns += len(n["nouns"])
        for t in p["tokens"]:
            if "start" in t:
                assert 0 <= t["start"] <= t["end"] <= len(doc)
            if name == "mecab":  # its forms are surfaces: the offsets must slice them out
                assert doc[t["start"] : t["end"]] == t["form"], doc
    assert total_nouns > len(docs)  # real reviews have nouns, so the rule must find them


def test_analyzers_endpoint_describes_every_backend(api_all_url: str) -> None:
    infos = {a["name"]: a for a in httpx.get(f"{api_all_url}/v1/analyzers").json()}
    assert sorted(infos) == ANALYZERS
    assert all(a["state"] == "ready" and a["version"] and a["tagset"] for a in infos.values())
    assert set(infos["okt"]["options"]) == {"norm", "stem"}
    assert {n for n, a in infos.items() if a["takes_user_dictionary"]} == {
        "kiwi",
        "komoran",
        "mecab",
    }


def test_okt_options_change_the_analysis(api_all_url: str) -> None:
    doc = ["재밌었닼ㅋㅋㅋㅋㅋ 진짜 최고였다"]
    plain = analyze(api_all_url, "okt", doc)["results"][0]["tokens"]
    normed = analyze(api_all_url, "okt", doc, options={"norm": True, "stem": True})
    forms = [t["form"] for t in normed["results"][0]["tokens"]]
    assert forms != [t["form"] for t in plain]
    assert "이다" in forms or "재밌다" in forms  # stemmed predicates
    bad = httpx.post(
        f"{api_all_url}/v1/analyze",
        json={"analyzer": "mecab", "docs": ["x"], "options": {"stem": True}},
    )
    assert bad.status_code == 400 and "mecab takes no option 'stem'" in bad.json()["detail"]


@pytest.mark.parametrize("name", ["okt", "komoran", "kkma"])
def test_jvm_analyzers_survive_concurrent_requests(api_all_url: str, name: str) -> None:
    docs = [d for d, t in zip(golden(name)["docs"], golden(name)["tokens"], strict=True) if t][:8]
    expected = analyze(api_all_url, name, docs)["results"]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: analyze(api_all_url, name, docs)["results"], range(16)))
    assert all(a == expected for a in answers)


def test_kiwi_direct_call_is_in_use_and_gives_tokenize_offsets_too() -> None:
    """The backend skips `Kiwi.tokenize`'s per-call option handling: same tokens, offsets
    included, on every golden review (a kiwipiepy upgrade that breaks it fails here)."""
    from kiwipiepy import Kiwi

    from nlp_api.analyzers._kiwi import KiwiAnalyzer, _direct

    kiwi = Kiwi()
    assert _direct(kiwi) is not None, "the direct call fell back to Kiwi.tokenize"
    backend = KiwiAnalyzer()
    for doc in golden("kiwi")["docs"]:
        want = [(t.form, t.tag, t.start, t.start + t.len) for t in kiwi.tokenize(doc)]
        assert [tuple(t) for t in backend.pos(doc)] == (want if doc.strip() else []), doc


def test_mecab_text_output_equals_the_library_and_its_offsets_slice_the_text() -> None:
    """The backend splits MeCab's text output instead of walking the lattice: same morphemes
    as `MeCab().parse` on every golden review, and offsets that slice each surface out of the
    text, also where python-mecab-ko's own spans are off by the leading whitespace."""
    import mecab

    from nlp_api.analyzers._mecab import MecabAnalyzer

    backend, library = MecabAnalyzer(), mecab.MeCab()
    docs = [
        *golden("mecab")["docs"],
        "  앞에 공백",
        " 제로\u200b 폭",
        "a\tb\nc  EOS",
        "😀 좋아요👍",
    ]
    for doc in (d for d in docs if d.strip()):
        tokens = backend.pos(doc)
        assert [(t.form, t.tag) for t in tokens] == [(m.surface, m.pos) for m in library.parse(doc)]
        assert [doc[t.start : t.end] for t in tokens] == [t.form for t in tokens], doc
