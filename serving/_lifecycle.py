"""Which version of each model is served, and the swap when its registry alias moves.

Each served model follows the `contracts.PRODUCTION` alias in its `contracts.ModelRegistry`
file, or a version pinned in the settings; a model without a registry file or without that
alias (older repositories, a first model) serves its latest complete version, and says so.

`ModelSet.refresh` looks at every model once: it reads a registry file only when the file's
identity (inode, mtime, size) changed, since the registry replaces it atomically; loads a
wanted version into a new onnxruntime session, warms it up, and then swaps it in with one
reference assignment. A request takes its `LoadedModel` once, at its start, so the requests
in flight finish on the old session while new ones get the new one. A version that fails to
load leaves the old one serving; the failure is logged, counted and shown in the model's
status until another version is wanted or the failed version's files change. The watcher
(`watch`) calls `refresh` off the event loop every `poll_interval` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from contracts import (
    METADATA_FILENAME,
    MODEL_FILENAME,
    PRODUCTION,
    ModelRegistry,
    ModelRepository,
    RepositoryError,
)

from ._errors import InvalidInput, ModelLoadError, ModelNotFound, ModelNotReady
from ._metrics import ServingMetrics
from ._model import LoadedModel, load_model

__all__ = ["LoadFailure", "ModelSet", "ServedModel", "watch"]

_log = logging.getLogger(__name__)

PINNED = "pinned version"
ALIAS = f"{PRODUCTION} alias"
LATEST = f"latest version (no {PRODUCTION} alias)"
_Stat = tuple[int, int, int] | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _stat(path: os.PathLike[str] | str) -> _Stat:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class LoadFailure:
    """Why `version` is not served: what loading it raised, and when."""

    version: int
    detail: str
    at: str

    def to_json(self) -> dict[str, str]:
        return {"version": str(self.version), "detail": self.detail, "at": self.at}


class ServedModel:
    """One model name: the version serving now, the one it replaced (kept loaded for
    version-pinned requests and an instant rollback) and the last failed load."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.current: LoadedModel | None = None
        self.previous: LoadedModel | None = None
        self.source = ""
        self.loaded_at: str | None = None
        self.failure: LoadFailure | None = None
        self.failed_key: tuple[int, _Stat, _Stat] | None = None
        self.registry_stat: _Stat = None
        self.aliases: dict[str, int] = {}

    def loaded(self) -> dict[int, LoadedModel]:
        """The loaded versions, by number."""
        return {m.version: m for m in (self.previous, self.current) if m is not None}

    def version(self, version: int) -> LoadedModel:
        """A loaded version, or ModelNotFound naming the loaded ones."""
        model = self.loaded().get(version)
        if model is None:
            have = sorted(self.loaded())
            raise ModelNotFound(
                f"version {version} of model {self.name!r} is not loaded; loaded: {have or 'none'}"
            )
        return model

    def swap(self, model: LoadedModel, source: str) -> None:
        """Serve `model` from now on: one assignment, so no request sees a half state."""
        old = self.current
        self.previous = old if old is not None and old.version != model.version else None
        self.current = model
        self.source, self.loaded_at = source, _now()
        self.failure = self.failed_key = None

    def status(self) -> dict[str, Any]:
        """What is served and why, and the last failed load (``None`` when none is pending)."""
        current = self.current
        return {
            "version": str(current.version) if current else None,
            "source": self.source or None,
            "loaded_at": self.loaded_at,
            "loaded_versions": [str(v) for v in sorted(self.loaded())],
            "last_load_error": self.failure.to_json() if self.failure else None,
        }


class ModelSet:
    """The served models of one repository: `names` (empty: every model it holds), each at
    its production alias, its latest version, or the pinned `version`."""

    def __init__(
        self,
        repository: ModelRepository,
        names: tuple[str, ...] = (),
        *,
        version: int | None = None,
        metrics: ServingMetrics | None = None,
    ) -> None:
        self.repository = repository
        self._registry = ModelRegistry(repository)
        self._names = names
        self._pinned = version
        self._metrics = metrics or ServingMetrics()
        self._served: dict[str, ServedModel] = {n: ServedModel(n) for n in names}

    def names(self) -> list[str]:
        return list(self._served)

    def served(self, name: str) -> ServedModel:
        """The named model's state, or ModelNotFound naming those served."""
        served = self._served.get(name)
        if served is None:
            raise ModelNotFound(
                f"model {name!r} is not served here; served: {self.names() or 'none yet'}"
            )
        return served

    def require(self, name: str | None = None) -> LoadedModel:
        """The version of `name` (default: the only model) serving now, or ModelNotReady."""
        if name is None:
            name = self.default_name()
        served = self.served(name)
        model = served.current
        if model is None:
            raise ModelNotReady(self._not_ready(served))
        return model

    def default_name(self) -> str:
        """The model a request that names none gets: the only one served."""
        names = self.names()
        if len(names) == 1:
            return names[0]
        if not names:
            raise ModelNotReady(
                f"no model found in {self.repository.root}: train one with `nlpfeat train` "
                f"(nlpfeat train --features features.parquet --models {self.repository.root})"
            )
        raise InvalidInput(f"several models are served; name one of {names} ('model')")

    def ready(self) -> bool:
        """Every served model has a version loaded (and there is at least one)."""
        return bool(self._served) and all(s.current for s in self._served.values())

    def refresh(self, *, startup: bool = False) -> None:
        """Look at every model once and swap in what its registry wants (blocking: run it off
        the event loop). At `startup`, a pinned version that fails to load raises."""
        if not self._names:
            try:
                for name in self.repository.names():
                    self._served.setdefault(name, ServedModel(name))
            except (RepositoryError, OSError) as exc:
                _log.warning("cannot list the models in %s: %s", self.repository.root, exc)
        for served in list(self._served.values()):
            self._refresh_one(served, startup=startup)

    def _refresh_one(self, served: ServedModel, *, startup: bool) -> None:
        try:
            target, source = self._target(served)
        except (RepositoryError, OSError) as exc:
            _log.warning("model %r: %s; keeping version %s", served.name, exc, _v(served))
            return
        current = served.current
        if target is None:
            return
        if current is not None and current.version == target:
            if served.source != source:
                served.source = source
            served.failure = served.failed_key = None
            return
        key = (target, *self._files(served.name, target))
        if key == served.failed_key:
            return
        model = served.loaded().get(target)
        try:
            model = model or self._load(served.name, target)
        except ModelLoadError as exc:
            served.failure, served.failed_key = LoadFailure(target, exc.detail, _now()), key
            self._metrics.failed(served.name, target)
            _log.error(
                "model %r version %d (%s) failed to load, still serving version %s: %s",
                *(served.name, target, source, _v(served), exc.detail),
            )
            if startup and source == PINNED:
                raise
            return
        if source == LATEST and served.source != LATEST:
            _log.warning(
                "model %r has no %s alias in its registry: serving its latest version %d",
                *(served.name, PRODUCTION, target),
            )
        served.swap(model, source)
        self._metrics.loaded(served.name, target)
        _log.info(
            "model %r: serving version %d (%s), was %s",
            *(served.name, target, source, current.version if current else "none"),
        )

    def _target(self, served: ServedModel) -> tuple[int | None, str]:
        """The version `served` should serve and why."""
        if self._pinned is not None:
            return self._pinned, PINNED
        stat = _stat(self._registry.path(served.name))
        if stat != served.registry_stat:
            served.aliases = self._registry.aliases(served.name) if stat else {}
            served.registry_stat = stat
        version = served.aliases.get(PRODUCTION)
        if version is not None:
            return version, ALIAS
        return self.repository.latest(served.name), LATEST

    def _files(self, name: str, version: int) -> tuple[_Stat, _Stat]:
        version_dir = self.repository.version_dir(name, version)
        return _stat(version_dir / MODEL_FILENAME), _stat(version_dir / METADATA_FILENAME)

    def _load(self, name: str, version: int) -> LoadedModel:
        """Load and warm up: the first run of a session allocates, so no request pays it."""
        model = load_model(self.repository, name, version)
        try:
            model.run(np.zeros((1, 1), np.int64), np.zeros((1, 1), np.float32))
        except Exception as exc:  # onnxruntime's errors share no base class but Exception
            raise ModelLoadError(f"version {version} fails on a warm-up row: {exc}") from exc
        return model

    def _not_ready(self, served: ServedModel) -> str:
        if served.failure is not None:
            f = served.failure
            return f"model {served.name!r}: version {f.version} failed to load: {f.detail}"
        return (
            f"no version of model {served.name!r} in {self.repository.root}: train one with "
            f"`nlpfeat train --features features.parquet --models {self.repository.root}`"
        )


def _v(served: ServedModel) -> str:
    return str(served.current.version) if served.current else "none"


async def watch(models: ModelSet, interval: float) -> None:
    """Call `models.refresh` every `interval` seconds, off the event loop, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(models.refresh)
        except Exception:  # a watcher that died would ignore every later promotion
            _log.exception("refreshing the served models failed; trying again")
