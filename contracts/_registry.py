"""The model registry: which version of a model holds which alias, and who moved it and why.

Kept with the model repository, one file per model: ``<root>/<name>/registry.json``::

    {"aliases": {"production": 3, "candidate": 4},
     "history": [{"at": "...", "alias": "production", "version": 3, "previous": 2,
                  "by": "alice", "reason": "gate passed", "forced": false, "gate": {...}}]}

Aliases are free names; `PRODUCTION` and `CANDIDATE` are the two the lifecycle uses, and a
version that held `production` and lost it counts as `archived`. Every change appends to the
history (never rewritten) and replaces the file atomically under an exclusive lock, so
concurrent writers serialize and a reader (serving, polling for a promotion) never sees half a
file.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from contracts._errors import RepositoryError
from contracts._files import write_json
from contracts._repository import ModelRepository, check_name

__all__ = ["ARCHIVED", "CANDIDATE", "PRODUCTION", "REGISTRY_FILENAME", "ModelRegistry"]

REGISTRY_FILENAME: Final = "registry.json"
PRODUCTION: Final = "production"
CANDIDATE: Final = "candidate"
ARCHIVED: Final = "archived"
_LOCK: Final = ".registry.lock"


class ModelRegistry:
    """Aliases and their history for the models of one `ModelRepository`."""

    def __init__(self, repository: ModelRepository | str | Path) -> None:
        self.repository = (
            repository if isinstance(repository, ModelRepository) else ModelRepository(repository)
        )

    def path(self, name: str) -> Path:
        return self.repository.root / check_name(name) / REGISTRY_FILENAME

    def read(self, name: str) -> dict[str, Any]:
        """The registry file of `name` (empty aliases and history when there is none yet)."""
        path = self.path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"aliases": {}, "history": []}
        except (OSError, ValueError) as exc:
            raise RepositoryError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("aliases"), dict):
            raise RepositoryError(f"{path} is not a registry file (no 'aliases' object)")
        data.setdefault("history", [])
        return data

    def aliases(self, name: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.read(name)["aliases"].items()}

    def resolve(self, name: str, alias: str) -> int | None:
        """The version holding `alias`, or None."""
        return self.aliases(name).get(alias)

    def history(self, name: str) -> list[dict[str, Any]]:
        return list(self.read(name)["history"])

    def stage(self, name: str, version: int) -> str | None:
        """`production`, `candidate`, `archived` (held production once), or None."""
        aliases = self.aliases(name)
        for alias in (PRODUCTION, CANDIDATE):
            if aliases.get(alias) == version:
                return alias
        held = any(
            e.get("alias") == PRODUCTION and e.get("version") == version for e in self.history(name)
        )
        return ARCHIVED if held else None

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        by: str,
        reason: str,
        forced: bool = False,
        gate: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Point `alias` at `version` (which must exist, complete) and record the change."""
        if version not in self.repository.versions(name):
            raise RepositoryError(
                f"model {name!r} has no version {version} in {self.repository.root}: "
                f"it has {self.repository.versions(name) or 'none'}"
            )
        if not reason.strip():
            raise RepositoryError("say why the alias moves (reason)")
        with self._locked(name):
            data = self.read(name)
            entry: dict[str, Any] = {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "alias": alias,
                "version": int(version),
                "previous": data["aliases"].get(alias),
                "by": by,
                "reason": reason,
                "forced": forced,
            }
            if gate is not None:
                entry["gate"] = dict(gate)
            data["aliases"][alias] = int(version)
            data["history"].append(entry)
            self._write(name, data)
        return entry

    def remove_alias(self, name: str, alias: str, *, by: str, reason: str) -> None:
        with self._locked(name):
            data = self.read(name)
            previous = data["aliases"].pop(alias, None)
            data["history"].append(
                {
                    "at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "alias": alias,
                    "version": None,
                    "previous": previous,
                    "by": by,
                    "reason": reason,
                    "forced": False,
                }
            )
            self._write(name, data)

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        directory = self.repository.root / check_name(name)
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / _LOCK).open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, name: str, data: dict[str, Any]) -> None:
        write_json(self.path(name), data)
