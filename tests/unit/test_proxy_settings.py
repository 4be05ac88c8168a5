"""ProxySettings validation."""

from __future__ import annotations

import dataclasses

import pytest

from proxy import ProxySettings
from proxy._errors import SettingsError


def test_defaults() -> None:
    s = ProxySettings(upstream="http://127.0.0.1:8001", rate=10, burst=5)
    assert (s.host, s.port, s.redis_url, s.redis_timeout) == ("127.0.0.1", 8000, None, 0.05)
    assert (s.key_prefix, s.upstream_timeout, s.pool_size) == ("nlpfeat", 30.0, 100)
    assert s.policy.rate == 10 and s.policy.burst == 5


def test_frozen() -> None:
    s = ProxySettings(upstream="http://127.0.0.1:8001", rate=10, burst=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rate = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"upstream": "127.0.0.1:8001"}, "upstream must be a URL"),
        ({"upstream": "ftp://host"}, "upstream must be a URL"),
        ({"upstream": "http://host/?q=1"}, "no query"),
        ({"rate": 0}, "rate must be a finite number > 0"),
        ({"rate": float("nan")}, "rate must be a finite number > 0"),
        ({"burst": 0}, "burst must be an integer >= 1"),
        ({"burst": 2.5}, "burst must be an integer >= 1"),
        ({"redis_url": "localhost:6379"}, "redis_url must be a URL"),
        ({"redis_timeout": 0}, "redis_timeout must be"),
        ({"port": 70000}, "port must be"),
        ({"pool_size": 0}, "pool_size must be"),
        ({"key_prefix": "a{b}"}, "key_prefix"),
    ],
)
def test_invalid_values_are_explained(changes: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"upstream": "http://127.0.0.1:8001", "rate": 10, "burst": 5}
    fields.update(changes)
    with pytest.raises(SettingsError, match=message) as info:
        ProxySettings(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_accepts_https_and_redis_urls() -> None:
    s = ProxySettings(
        upstream="https://api.example.com/base/",
        rate=0.5,
        burst=1,
        redis_url="redis://127.0.0.1:6379/0",
    )
    assert s.redis_url == "redis://127.0.0.1:6379/0"
