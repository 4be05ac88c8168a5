"""`ApiSettings` takes `NLPFEAT_API_*` from the environment once, when it is built; the app
uses what the object holds, secrets included."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from contracts import headers
from nlp_api import ApiSettings, Registry, create_app


def test_environment_fills_every_kind_of_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "NLPFEAT_API_HOST": "0.0.0.0",
        "NLPFEAT_API_PORT": "9001",
        "NLPFEAT_API_WORKERS": "3",
        "NLPFEAT_API_ANALYZERS": "mecab, okt",
        "NLPFEAT_API_ISOLATE": "",
        "NLPFEAT_API_DOC_TIMEOUT": "2.5",
        "NLPFEAT_API_MAX_DOCS": "50",
        "NLPFEAT_API_DICT_DIR": str(tmp_path),
        "NLPFEAT_API_UPSTREAM_TOKEN": "from-env",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = ApiSettings()
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9001, 3)
    assert (settings.analyzers, settings.isolate) == (("mecab", "okt"), ())
    assert (settings.doc_timeout, settings.max_docs) == (2.5, 50)
    assert settings.dict_dir == tmp_path and settings.upstream_token == "from-env"
    assert ApiSettings(port=9002, upstream_token="flag").port == 9002  # arguments win
    assert ApiSettings(upstream_token="flag").upstream_token == "flag"


def test_bad_environment_values_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLPFEAT_API_ANALYZERS", "mecab,nope")
    with pytest.raises(ValidationError, match="unknown analyzers"):
        ApiSettings()


def test_the_token_is_read_once_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLPFEAT_API_UPSTREAM_TOKEN", "first")
    app = create_app(ApiSettings(), registry=Registry())
    monkeypatch.setenv("NLPFEAT_API_UPSTREAM_TOKEN", "second")
    with TestClient(app) as client:

        def status(token: str) -> int:
            return client.get("/v1/analyzers", headers={headers.UPSTREAM_TOKEN: token}).status_code

        assert (status("second"), status("first")) == (401, 200)
