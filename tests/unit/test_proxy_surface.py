"""The package's public surface and its boundaries."""

from __future__ import annotations

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import proxy

EXPECTED = [
    "Decision",
    "GCRAPolicy",
    "Limiter",
    "LimiterStoreError",
    "MemoryStore",
    "ProxyConfig",
    "ProxyError",
    "ProxyMetrics",
    "ProxySettings",
    "RedisStore",
    "SettingsError",
    "create_app",
    "load_config",
    "run",
]


def test_all_is_sorted_and_exactly_the_intended_list() -> None:
    assert proxy.__all__ == sorted(proxy.__all__)
    assert proxy.__all__ == EXPECTED
    assert all(hasattr(proxy, name) for name in EXPECTED)


def test_public_names_have_docstrings() -> None:
    assert all(getattr(proxy, name).__doc__ for name in EXPECTED)


def test_importing_does_not_pull_in_the_nlp_api_or_connect() -> None:
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise RuntimeError('connection at import time')\n"
        "socket.socket.connect = refuse\n"
        "import proxy\n"
        "assert 'nlp_api' not in sys.modules, 'proxy must not import nlp_api'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=_repo_root())


def test_lua_script_ships_with_the_package() -> None:
    text = files("proxy").joinpath("gcra.lua").read_text(encoding="utf-8")
    assert "redis.call('TIME')" in text


def _repo_root() -> str:
    return str(Path(proxy.__file__).resolve().parents[1])
