"""The model repository: ``<root>/<name>/<version>/{model.onnx,metadata.json}``.

Versions are positive integers used as directory names. A version is written into a hidden
temporary directory beside the others and renamed into place, so a reader never sees a
half-written version; if another writer took the number first, the next one is tried.
A version counts only when both files are there; dot-named entries are writes in progress.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from contracts._errors import RepositoryError

__all__ = ["METADATA_FILENAME", "MODEL_FILENAME", "ModelRepository", "check_name"]

MODEL_FILENAME: Final = "model.onnx"
METADATA_FILENAME: Final = "metadata.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ATTEMPTS = 100


def check_name(name: str) -> str:
    """Return `name` if it is a plain directory name, else raise `RepositoryError`."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise RepositoryError(f"invalid model name {name!r}: use letters, digits, '_', '-', '.'")
    return name


class ModelRepository:
    """Versions of named models under one root directory."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def names(self) -> list[str]:
        """Model names with at least one complete version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _NAME.match(p.name) and self.versions(p.name)
        )

    def versions(self, name: str) -> list[int]:
        """The complete versions of `name`, ascending."""
        model_dir = self.root / check_name(name)
        if not model_dir.is_dir():
            return []
        return sorted(
            int(p.name)
            for p in model_dir.iterdir()
            if p.name.isdigit()
            and (p / MODEL_FILENAME).is_file()
            and (p / METADATA_FILENAME).is_file()
        )

    def latest(self, name: str) -> int | None:
        found = self.versions(name)
        return found[-1] if found else None

    def version_dir(self, name: str, version: int) -> Path:
        return self.root / check_name(name) / str(int(version))

    def model_path(self, name: str, version: int) -> Path:
        return self.version_dir(name, version) / MODEL_FILENAME

    def read_metadata(self, name: str, version: int) -> dict[str, Any]:
        path = self.version_dir(name, version) / METADATA_FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RepositoryError(f"no version {version} of model {name!r} in {self.root}") from exc
        except (OSError, ValueError) as exc:
            raise RepositoryError(f"cannot read {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise RepositoryError(f"{path} must hold a JSON object")
        return data

    def write_version(
        self, name: str, model: bytes, metadata: Mapping[str, Any]
    ) -> tuple[int, Path]:
        """Write a new version atomically; return ``(version, path)``. The metadata written
        carries ``name`` and ``version`` as taken."""
        model_dir = self.root / check_name(name)
        model_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(_ATTEMPTS):
            version = max(self._numbers(model_dir), default=0) + 1
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=model_dir))
            try:
                (tmp / MODEL_FILENAME).write_bytes(model)
                meta = {**metadata, "name": name, "version": version}
                text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
                (tmp / METADATA_FILENAME).write_text(text, encoding="utf-8")
                os.chmod(tmp, 0o755)
                target = model_dir / str(version)
                try:
                    os.rename(tmp, target)
                except OSError:
                    if target.exists():
                        continue
                    raise
                return version, target
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
        raise RepositoryError(f"could not claim a new version under {model_dir}")

    @staticmethod
    def _numbers(model_dir: Path) -> list[int]:
        """Every numbered entry, complete or not, so a broken version's number is not reused."""
        return [int(p.name) for p in model_dir.iterdir() if p.name.isdigit()]
