"""Settings objects from the command line's options: only the options given count.

An option left out is ``None`` here and is not passed on, so the settings class decides: its
environment variables (``NLPFEAT_API_*`` for the API, through pydantic-settings), else its own
default. No default is written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nlp_api import ApiSettings
    from proxy import ProxyConfig

__all__ = [
    "API_KEY_ENV",
    "PROXY_URL",
    "UPSTREAM_TOKEN_ENV",
    "api_settings",
    "given",
    "proxy_config",
]

PROXY_URL = "http://127.0.0.1:8000"
"""Where `nlpfeat featurize` and `nlpfeat serve` find the proxy unless told."""
UPSTREAM_TOKEN_ENV = "NLPFEAT_UPSTREAM_TOKEN"
"""The upstream token shared by `nlpfeat api` (``--upstream-token``) and a proxy.toml's
``token_env`` in the demo."""
API_KEY_ENV = "NLPFEAT_API_KEY"
"""The proxy API key of `nlpfeat featurize` and `nlpfeat serve` (``--api-key``)."""

_CSV = ("analyzers", "isolate")
_SERVER = ("host", "port", "dry_run")


def given(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that were given (not ``None``)."""
    return {name: value for name, value in options.items() if value is not None}


def api_settings(**options: Any) -> ApiSettings:
    """``ApiSettings`` from the options given; comma-separated analyzer lists become tuples.

    Raises pydantic's ``ValidationError`` for a bad value, from an option or the environment.
    """
    from nlp_api import ApiSettings

    fields = given(options)
    for name in _CSV:
        if isinstance(fields.get(name), str):
            fields[name] = tuple(a.strip() for a in fields[name].split(",") if a.strip())
    return ApiSettings(**fields)


def proxy_config(config: Path | None, **options: Any) -> ProxyConfig:
    """The proxy's configuration: ``config`` (a proxy.toml) with the server options given
    (``host``, ``port``, ``dry_run``), or else the one-client shorthand of ``ProxySettings``.

    Raises ``SettingsError`` once, naming every bad field; also when shorthand options
    (``upstream``, ``rate``...) come with ``config``, which would silently ignore them.
    """
    import proxy

    fields = given(options)
    if config is None:
        return proxy.ProxySettings(**fields).to_config()
    shorthand = [name for name in fields if name not in _SERVER]
    if shorthand:
        flags = ", ".join("--" + name.replace("_", "-") for name in shorthand)
        raise proxy.SettingsError(
            f"{flags}: these describe the keyless one-client proxy; with --config {config} "
            "set the upstream and the clients in that file"
        )
    return proxy.load_config(config, server={k: v for k, v in fields.items() if k in _SERVER})
