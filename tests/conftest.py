"""Shared fixtures: the real sample data, and real servers on loopback started per session.

A test that needs something missing (a Redis, the redis-server binary) says what and how to
get it: it fails under CI (``CI`` set) and is skipped with that reason elsewhere (``-ra``
lists the reasons).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pandas as pd
import pytest
from _loopback import RedisServer

from nlpfeat._services import free_port, redis_reachable, service

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reviews_sample.tsv"


@pytest.fixture(scope="session")
def reviews() -> pd.DataFrame:
    """The bundled sample of real reviews (id, document, label, rating, movie_id)."""
    return pd.read_csv(SAMPLE, sep="\t", quoting=3, dtype={"id": str, "document": str})


def missing(message: str) -> NoReturn:
    """Fail under CI, else skip, with ``message`` saying what is missing and how to get it."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The shared Redis (``REDIS_URL``, default 127.0.0.1:6379/0)."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if not redis_reachable(url):
        missing(
            f"no Redis at {url}: start one with `redis-server --port 6379 --save ''` "
            "(.ci/run does) or set REDIS_URL"
        )
    return url


@pytest.fixture(scope="session")
def redis_server_binary() -> str:
    """Path of the redis-server binary, for tests that start a Redis of their own."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not on PATH: apt-get install redis-server")
    return binary


@pytest.fixture
def redis_server(redis_server_binary: str) -> Iterator[RedisServer]:
    """A started redis-server of this test's own on a spare port (stop, start again, pause,
    resume at will, the shared one is untouched); stopped afterwards."""
    server = RedisServer(redis_server_binary).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def api_url(logs: Path) -> Iterator[str]:
    """A real NLP API (uvicorn, mecab + okt on the JVM) with small limits for the 413 tests."""
    port = free_port()
    args = [
        "api",
        "--port",
        str(port),
        "--max-docs",
        "200",
        "--max-doc-chars",
        "500",
        "--analyzers",
        "mecab,okt",
        "--isolate",
        "",
    ]
    url = f"http://127.0.0.1:{port}"
    with service("api", args, f"{url}/readyz", log_dir=logs):
        yield url


@pytest.fixture(scope="session")
def api_all_url(logs: Path) -> Iterator[str]:
    """A real NLP API with all six analyzers, kkma and hannanum isolated (the defaults)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["api", "--port", str(port), "--max-docs", "200", "--doc-timeout", "20"]
    with service("api-all", args, f"{url}/readyz", log_dir=logs, timeout=300):
        yield url


@pytest.fixture(scope="session")
def proxy_url(api_url: str, redis_url: str, logs: Path) -> Iterator[str]:
    """A real proxy in front of `api_url`, limits shared through the real Redis."""
    port = free_port()
    args = [
        "proxy",
        "--upstream",
        api_url,
        "--port",
        str(port),
        "--rate",
        "500",
        "--burst",
        "100",
        "--redis-url",
        redis_url,
    ]
    url = f"http://127.0.0.1:{port}"
    with service("proxy", args, f"{url}/_proxy/healthz", log_dir=logs):
        yield url


@pytest.fixture(scope="session")
def spark():
    """Spark in local[2]; Python workers run this interpreter."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from spark_udfs import spark_session

    session = spark_session("local[2]", "nlpfeat-tests")
    yield session
    session.stop()
