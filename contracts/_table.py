"""A feature table's metadata file: what produced the rows, as the API answered it.

A feature table is a Parquet directory; beside its files lies `TABLE_METADATA_FILENAME`, a JSON
object holding the spec, its hash, the analyzer and dictionary as the API named them, and the
job's own record (`job`: input, filters, row counts, timings, creation time). It is written last
and atomically, so a directory with it is complete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from contracts._errors import ContractError, TableMetadataError
from contracts._files import write_json
from contracts._hashing import HASHING
from contracts._spec import FeatureSpec, spec_hash

__all__ = ["TABLE_METADATA_FILENAME", "FeatureTableInfo", "read_table_info", "write_table_info"]

TABLE_METADATA_FILENAME: Final = "_feature_spec.json"
_FROM_API: Final = ("analyzer", "analyzer_version", "dictionary", "spec", "spec_hash")


@dataclass(frozen=True)
class FeatureTableInfo:
    """What the API said it computes (`spec`, `spec_hash`, analyzer, dictionary and the user
    dictionary with its version) plus the job's record in `job`."""

    spec: FeatureSpec
    spec_hash: str
    analyzer: str
    analyzer_version: str
    dictionary: str
    user_dictionary: str | None = None
    user_dictionary_version: str | None = None
    term_format: str | None = None
    hashing: str = HASHING
    job: dict[str, Any] = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return self.spec.num_features

    @classmethod
    def from_api(cls, answer: Mapping[str, Any], **job: Any) -> FeatureTableInfo:
        """From a `/v1/features` answer (its `results` are ignored). The answer's `spec_hash`
        must be the one this contract computes, or the two sides disagree on the recipe."""
        missing = [k for k in _FROM_API if k not in answer]
        if missing:
            raise TableMetadataError(
                f"the API's answer lacks {', '.join(missing)}: is the API older than this client?"
            )
        spec = FeatureSpec.from_json(answer["spec"])
        ours = spec_hash(spec, str(answer["analyzer"]))
        if answer["spec_hash"] != ours:
            raise TableMetadataError(
                f"the API's spec_hash {answer['spec_hash']} is not {ours} for the same spec: "
                "the API and this client run different versions of the feature contract"
            )
        user = answer.get("user_dictionary") or {}
        return cls(
            spec=spec,
            spec_hash=ours,
            analyzer=str(answer["analyzer"]),
            analyzer_version=str(answer["analyzer_version"]),
            dictionary=str(answer["dictionary"]),
            user_dictionary=user.get("name"),
            user_dictionary_version=user.get("version"),
            term_format=answer.get("term_format"),
            job=dict(job),
        )

    def with_job(self, **job: Any) -> FeatureTableInfo:
        return FeatureTableInfo(**{**self.__dict__, "job": {**self.job, **job}})

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_json(),
            "spec_hash": self.spec_hash,
            "analyzer": self.analyzer,
            "analyzer_version": self.analyzer_version,
            "dictionary": self.dictionary,
            "user_dictionary": self.user_dictionary,
            "user_dictionary_version": self.user_dictionary_version,
            "term_format": self.term_format,
            "hashing": self.hashing,
            "num_features": self.num_features,
            "job": self.job,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeatureTableInfo:
        missing = [k for k in _FROM_API if k not in data]
        if missing:
            raise TableMetadataError(f"lacks {', '.join(missing)}")
        try:
            spec = FeatureSpec.from_json(data["spec"])
        except ContractError as exc:
            raise TableMetadataError(f"spec: {exc}") from exc
        if data["spec_hash"] != spec_hash(spec, str(data["analyzer"])):
            raise TableMetadataError("spec_hash does not match spec and analyzer (edited by hand?)")
        return cls(
            spec=spec,
            spec_hash=str(data["spec_hash"]),
            analyzer=str(data["analyzer"]),
            analyzer_version=str(data["analyzer_version"]),
            dictionary=str(data["dictionary"]),
            user_dictionary=data.get("user_dictionary"),
            user_dictionary_version=data.get("user_dictionary_version"),
            term_format=data.get("term_format"),
            hashing=str(data.get("hashing", HASHING)),
            job=dict(data.get("job") or {}),
        )


def write_table_info(table_dir: str | Path, info: FeatureTableInfo) -> Path:
    """Write the metadata file atomically (temporary file, then rename) and return its path."""
    return write_json(Path(table_dir) / TABLE_METADATA_FILENAME, info.to_json())


def read_table_info(table_dir: str | Path) -> FeatureTableInfo:
    """Read and check a feature table's metadata; the error names the file and the fix."""
    path = Path(table_dir) / TABLE_METADATA_FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TableMetadataError(
            f"{path} not found: is {table_dir} a feature table written by `nlpfeat featurize`?"
        ) from exc
    except (OSError, ValueError) as exc:
        raise TableMetadataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TableMetadataError(f"{path} must hold a JSON object")
    try:
        return FeatureTableInfo.from_json(data)
    except TableMetadataError as exc:
        raise TableMetadataError(f"{path}: {exc}") from exc
