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
    """Where the models are, which to serve, where the features proxy is, and how to listen.

    Args:
        models_dir: the root of a `contracts.ModelRepository` (what ``nlpfeat train`` writes).
        proxy_url: base URL of the features proxy (``POST {proxy_url}/v1/features``).
        model_names: the models to serve; empty serves every model in the repository (and
            any that appears later).
        version: pin this version of the one model in `model_names` instead of following
            its `contracts.PRODUCTION` alias.
        poll_interval: seconds between two looks at each model's registry file (a promotion
            or rollback is served without a restart); 0 looks only at startup.
        host, port: where :func:`serving.run` listens.
        timeout: total seconds allowed for one call to the features proxy.
        max_texts: the most texts accepted by one ``/v1/predict`` request.
        max_predict_in_flight, max_infer_in_flight: the most ``/v1/predict`` and v2 infer
            requests served at once; one more is answered 503 with ``Retry-After``.
        retry_after: the seconds that ``Retry-After`` asks an overloaded client to wait.
        api_key: sent to the proxy as ``X-API-Key`` (serving is one of its interactive
            clients); ``None`` sends none. Kept out of ``repr``.
    """

    models_dir: Path
    proxy_url: str
    model_names: tuple[str, ...] = ()
    version: int | None = None
    poll_interval: float = 0.5
    host: str = "127.0.0.1"
    port: int = 8002
    timeout: float = 30.0
    max_texts: int = 1000
    max_predict_in_flight: int = 64
    max_infer_in_flight: int = 64
    retry_after: int = 1
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "models_dir", Path(self.models_dir))
        object.__setattr__(self, "model_names", tuple(self.model_names))
        parts = urlsplit(self.proxy_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(f"proxy_url must be an http(s) URL, got {self.proxy_url!r}")
        for name in self.model_names:
            try:
                check_name(name)
            except RepositoryError as exc:
                raise ConfigurationError(f"model_names: {exc}") from exc
        if len(set(self.model_names)) != len(self.model_names):
            raise ConfigurationError(f"model_names has duplicates: {list(self.model_names)}")
        if self.version is not None and (len(self.model_names) != 1 or self.version < 1):
            raise ConfigurationError(
                "version pins one model: give exactly one model name and a version >= 1"
            )
        if isinstance(self.port, bool) or not 0 <= self.port <= 65535:
            raise ConfigurationError(f"port must be in 0..65535, got {self.port}")
        if not self.timeout > 0:
            raise ConfigurationError(f"timeout must be > 0, got {self.timeout}")
        if not self.poll_interval >= 0:
            raise ConfigurationError(f"poll_interval must be >= 0, got {self.poll_interval}")
        for name in ("max_texts", "max_predict_in_flight", "max_infer_in_flight", "retry_after"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.host:
            raise ConfigurationError("host must not be empty")
