"""ProxySettings: defaults, and validation through ProxyConfig (one check, one wording)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from proxy import ProxySettings
from proxy._errors import SettingsError


def test_defaults() -> None:
    s = ProxySettings(upstream="http://127.0.0.1:8001", rate=10, burst=5)
    assert (s.host, s.port, s.redis_url, s.redis_timeout) == ("127.0.0.1", 8000, None, 0.05)
    assert (s.key_prefix, s.upstream_timeout, s.pool_size) == ("nlpfeat", 30.0, 100)
    assert s.policy.rate == 10 and s.policy.burst == 5


def test_the_flags_defaults_live_here() -> None:
    s = ProxySettings()
    assert (s.upstream, s.rate, s.burst, s.dry_run) == ("http://127.0.0.1:8001", 100.0, 20, False)
    assert s.to_config().server.port == 8000


def test_frozen() -> None:
    s = ProxySettings(upstream="http://127.0.0.1:8001", rate=10, burst=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rate = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        ({"upstream": "127.0.0.1:8001"}, "upstream: must be a base URL like http://"),
        ({"upstream": "ftp://host"}, "upstream: must be a base URL like http://"),
        ({"upstream": "http://"}, "upstream: must be a base URL like http://"),
        ({"upstream": "http://host/?q=1"}, "upstream: must be a base URL with no query"),
        ({"rate": 0}, "rate: Input should be greater than 0"),
        ({"rate": float("nan")}, "rate: Input should be a finite number"),
        ({"burst": 0}, "burst: Input should be greater than or equal to 1"),
        ({"burst": 2.5}, "burst: Input should be a valid integer"),
        ({"burst": True}, "burst: Input should be a valid integer"),
        ({"redis_url": "localhost:6379"}, "redis_url: must start with redis://"),
        ({"redis_timeout": 0}, "redis_timeout: Input should be greater than 0"),
        ({"port": 70000}, "port: Input should be less than or equal to 65535"),
        ({"pool_size": 0}, "pool_size: Input should be greater than or equal to 1"),
        ({"key_prefix": "a{b}"}, "key_prefix: must be non-empty without braces or spaces"),
        ({"rate": 1e-6, "burst": 10**6}, "rate, burst: burst / rate is too long a window"),
    ],
)
def test_invalid_values_are_explained_once_by_setting_name(
    changes: dict[str, object], line: str
) -> None:
    fields: dict[str, object] = {"upstream": "http://127.0.0.1:8001", "rate": 10, "burst": 5}
    fields.update(changes)
    with pytest.raises(SettingsError) as info:
        ProxySettings(**fields)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    header, *lines = str(info.value).splitlines()
    assert header == "proxy settings: invalid proxy configuration"
    assert len(lines) == 1, f"one mistake, one line: {lines}"
    assert re.match(rf"  {re.escape(line)}", lines[0]), lines[0]


def test_several_mistakes_are_reported_together() -> None:
    with pytest.raises(SettingsError) as info:
        ProxySettings(upstream="nowhere", rate=0, port=-1)
    fields = [line.split(":")[0].strip() for line in str(info.value).splitlines()[1:]]
    assert fields == ["port", "upstream", "rate"]


def test_accepts_https_and_redis_urls() -> None:
    s = ProxySettings(
        upstream="https://api.example.com/base/",
        rate=0.5,
        burst=1,
        redis_url="redis://127.0.0.1:6379/0",
    )
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert s.to_config().upstream.urls == ["https://api.example.com/base"]
