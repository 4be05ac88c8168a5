"""Versioned model directories: ``<models>/<name>/<version>/{model.onnx,metadata.json}``.

Versions are positive integers used as directory names. A version is written into a
hidden temporary directory next to the others and renamed into place, so readers never
see a half-written version; if another writer took the number first, the next one is tried.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ._errors import TrainingError

__all__ = [
    "METADATA_FILENAME",
    "MODEL_FILENAME",
    "check_name",
    "existing_versions",
    "write_version",
]

MODEL_FILENAME = "model.onnx"
METADATA_FILENAME = "metadata.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ATTEMPTS = 100


def existing_versions(model_dir: Path) -> list[int]:
    """Return the sorted integer versions present under ``model_dir``."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def check_name(name: str) -> None:
    """Reject model names that are not a plain directory name."""
    if not _NAME.match(name):
        raise TrainingError(f"invalid model name {name!r}: use letters, digits, '_', '-', '.'")


def write_version(
    models_dir: Path, name: str, model: bytes, metadata: dict[str, Any]
) -> tuple[int, Path]:
    """Write a new version atomically; return ``(version, path)``.

    ``metadata["version"]`` is set to the version actually taken.
    """
    check_name(name)
    model_dir = Path(models_dir) / name
    model_dir.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        version = (existing_versions(model_dir) or [0])[-1] + 1
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=model_dir))
        try:
            (tmp / MODEL_FILENAME).write_bytes(model)
            meta = {**metadata, "version": version}
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
    raise TrainingError(f"could not claim a new version under {model_dir}")
