"""Settings of the serving app, read once by the entry point and passed to create_app."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from contracts import RepositoryError, check_name

from ._errors import ConfigurationError

__all__ = ["ServingSettings"]


@dataclass(frozen=True)
class ServingSettings:
    """Where the models are, where the features proxy is, and how to listen.

    Args:
        models_dir: the root of a `contracts.ModelRepository` (what ``nlpfeat train`` writes).
        proxy_url: base URL of the features proxy (``POST {proxy_url}/v1/features``).
        model_name: the model to serve; ``None`` serves the first (sorted) one found.
        host, port: where :func:`serving.run` listens.
        timeout: total seconds allowed for one call to the features proxy.
        max_texts: the most texts accepted by one ``/v1/predict`` request.
        api_key: sent to the proxy as ``X-API-Key`` (serving is one of its interactive
            clients); ``None`` sends none. Kept out of ``repr``.
    """

    models_dir: Path
    proxy_url: str
    model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8002
    timeout: float = 30.0
    max_texts: int = 1000
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "models_dir", Path(self.models_dir))
        parts = urlsplit(self.proxy_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"proxy_url must be an http(s) URL, got {self.proxy_url!r}")
        if self.model_name is not None:
            try:
                check_name(self.model_name)
            except RepositoryError as exc:
                raise ConfigurationError(f"model_name: {exc}") from exc
        if isinstance(self.port, bool) or not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be in 0..65535, got {self.port}")
        if not self.timeout > 0:
            raise ConfigurationError(f"timeout must be > 0, got {self.timeout}")
        if self.max_texts < 1:
            raise ConfigurationError(f"max_texts must be >= 1, got {self.max_texts}")
        if not self.host:
            raise ConfigurationError("host must not be empty")
