"""Locust users for the NLP API, directly or through the proxy: interactive and batch.

    locust -f benchmarks/locustfile.py --headless -u 20 -r 5 -t 60s --host http://127.0.0.1:8000
    locust -f benchmarks/locustfile.py --host http://127.0.0.1:8001 InteractiveUser   # one class

* ``InteractiveUser``: one real review per POST /v1/analyze, ``NLPFEAT_INTERACTIVE_RPS`` (5)
  requests per second per user, sent with ``NLPFEAT_INTERACTIVE_KEY``;
* ``BatchUser``: ``NLPFEAT_BATCH_DOCS`` (64) reviews per request, back to back (a Spark task),
  sent with ``NLPFEAT_BATCH_KEY``; after a 429 it waits the ``Retry-After`` the proxy gave.

Either key falls back to ``NLPFEAT_API_KEY``; without any, no ``X-API-Key`` is sent (the API
itself needs none). Reviews come from ``NLPFEAT_BENCH_DATA`` (default the bundled sample);
``NLPFEAT_BENCH_ANALYZER`` picks the analyzer (mecab). A 429 counts as a failure, so a run
through the proxy shows how much was refused. ``bench_proxy.py`` gives the precise figures.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from _data import SAMPLE, read_reviews
from locust import FastHttpUser, constant_throughput, task

from contracts import headers as h


def _setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _docs() -> list[str]:
    return read_reviews(Path(_setting("NLPFEAT_BENCH_DATA", str(SAMPLE))), skip_blank=True)


_DOCS = _docs()
_ANALYZER = _setting("NLPFEAT_BENCH_ANALYZER", "mecab")


def _headers(key_env: str) -> dict[str, str]:
    key = os.environ.get(key_env) or os.environ.get("NLPFEAT_API_KEY")
    headers = {"Content-Type": "application/json"}
    if key:
        headers[h.API_KEY] = key
    return headers


class _AnalyzeUser(FastHttpUser):
    abstract = True
    docs_per_request = 1
    key_env = ""

    def on_start(self) -> None:
        self._headers = _headers(self.key_env)
        self._docs = itertools.cycle(_DOCS)
        self._pause = 0.0

    def _analyze(self, name: str) -> None:
        docs = list(itertools.islice(self._docs, self.docs_per_request))
        body = json.dumps({"analyzer": _ANALYZER, "docs": docs}, ensure_ascii=False).encode()
        with self.client.post(
            "/v1/analyze", data=body, headers=self._headers, name=name, catch_response=True
        ) as resp:
            if resp.status_code == 200:
                resp.success()
                return
            if resp.status_code == 429:
                self._pause = float(resp.headers.get(h.RETRY_AFTER) or 1)
            resp.failure(f"HTTP {resp.status_code}")


class InteractiveUser(_AnalyzeUser):
    """A web service asking for one sentence at a time."""

    wait_time = constant_throughput(float(_setting("NLPFEAT_INTERACTIVE_RPS", "5")))
    key_env = "NLPFEAT_INTERACTIVE_KEY"

    @task
    def analyze_sentence(self) -> None:
        self._analyze("/v1/analyze [1 doc]")


class BatchUser(_AnalyzeUser):
    """A Spark task sending batches back to back, pausing after a 429 as told."""

    docs_per_request = int(_setting("NLPFEAT_BATCH_DOCS", "64"))
    key_env = "NLPFEAT_BATCH_KEY"

    def wait_time(self) -> float:
        pause, self._pause = self._pause, 0.0
        return pause

    @task
    def analyze_batch(self) -> None:
        self._analyze(f"/v1/analyze [{self.docs_per_request} docs]")
