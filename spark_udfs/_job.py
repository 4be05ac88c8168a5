"""The featurize job's declaration: input, feature spec, filters, output, service.

One TOML file (`nlpfeat featurize --config job.toml`) or command-line flags, or both (a flag
wins over the file). Every section and field is checked here, before Spark starts, and an
unknown field is refused by name::

    [input]                      # DUMP: any path Spark reads (local, hdfs://, s3a://)
    path = "data/reviews.tsv"
    format = "tsv"               # csv | tsv | jsonl | parquet (default: from the extension)
    text = "document"            # the column to featurize
    id = "id"                    # optional: a stable id is made from the text when absent
    label = "label"              # optional

    [spec]                       # what the API computes, with its meaning (see the API docs)
    analyzer = "mecab"
    ngram_range = [1, 3]         # morpheme n-grams
    char_ngram_range = [1, 4]    # character n-grams of each eojeol ([] or "none": off)
    text_char_ngram_range = [3, 5]  # character n-grams of the unspaced text ([] or "none": off)
    pos_filter = "all"           # all | content | nouns | [tag prefixes]
    stopwords = []
    binary = false
    num_features = 4194304
    dictionary = "movies"        # a user dictionary on the API; its version is recorded

    [filters]                    # BATCH: dropped rows are counted per filter, with examples
    min_chars = 1
    max_chars = 5000
    min_hangul = 0.3             # share of non-space characters that are Hangul
    drop_duplicates = true       # identical texts: the first (by id) is kept
    drop_normalized_duplicates = true   # equal after case, spacing and punctuation are dropped
    label_required = true
    flagged = "report/flagged"   # a table of ids to drop (ANALYZE's flagged rows)

    [output]
    path = "features"
    rows_per_part = 20000        # the unit of resume; each part is one directory
    max_rows_per_file = 50000
    dropped = "features_dropped" # write the dropped rows here, with the filter that dropped them
    tokens = false               # also write each row's unigrams ('form/TAG')

    [service]
    proxy = "http://127.0.0.1:8000"
    batch_size = 1000             # docs per request (halved on 413 until the API takes it)
    concurrency = 2              # requests in flight per Spark task
    deadline = 120.0             # seconds a batch may retry transient faults, then its rows error
    retry_budget = 0.5           # retries per request a task may spend (plus `min_retries`)
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts import FeatureSpec, InvalidSpec
from spark_udfs._errors import JobConfigError

__all__ = [
    "FORMATS",
    "FilterConfig",
    "InputConfig",
    "JobConfig",
    "OutputConfig",
    "ServiceConfig",
    "SpecConfig",
    "load_job",
]

FORMATS = ("csv", "tsv", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputConfig(_Section):
    path: str
    format: Literal["csv", "tsv", "jsonl", "parquet"] | None = None
    text: str = "document"
    id: str | None = "id"
    label: str | None = "label"
    quote: bool | None = Field(
        None, description="CSV/TSV quoting with '\"' (default: on for csv, off for tsv)"
    )
    header: bool = True

    def resolved_format(self) -> str:
        if self.format:
            return self.format
        suffixes = Path(self.path.rstrip("/")).suffixes
        for suffix in reversed(suffixes):
            if suffix.lower() in _EXTENSIONS:
                return _EXTENSIONS[suffix.lower()]
        raise JobConfigError(
            f"cannot tell the format of {self.path!r} from its name: "
            f"set --format (or [input] format) to one of {', '.join(FORMATS)}"
        )


_DEFAULT = FeatureSpec()
"""The contract's default spec: the defaults below are its own, never restated."""


class SpecConfig(_Section):
    analyzer: str = "mecab"
    op: Literal["pos", "nouns"] = Field(
        "pos", description="'nouns' is pos_filter='nouns': terms from nouns only"
    )
    ngram_range: tuple[int, int] = _DEFAULT.ngram_range
    pos_filter: str | list[str] = "all"
    stopwords: list[str] = Field(default_factory=list)
    binary: bool = _DEFAULT.binary
    num_features: int = _DEFAULT.num_features
    char_ngram_range: tuple[int, int] | None = _DEFAULT.char_ngram_range
    text_char_ngram_range: tuple[int, int] | None = _DEFAULT.text_char_ngram_range
    dictionary: str | None = None

    @field_validator("char_ngram_range", "text_char_ngram_range", mode="before")
    @classmethod
    def _off(cls, v: Any) -> Any:
        """`"none"` or `[]` (TOML has no null) switch character n-grams off."""
        return None if v in ("none", "off", [], ()) else v

    def feature_spec(self) -> FeatureSpec:
        """The contract's spec (validated there, so the API and this job agree on the rules)."""
        pos = self.pos_filter
        if self.op == "nouns":
            if pos not in ("all", "nouns"):
                raise JobConfigError("op = 'nouns' already sets pos_filter; drop one of them")
            pos = "nouns"
        try:
            return FeatureSpec(
                ngram_range=self.ngram_range,
                pos_filter=pos if isinstance(pos, str) else tuple(pos),
                stopwords=tuple(self.stopwords),
                binary=self.binary,
                num_features=self.num_features,
                char_ngram_range=self.char_ngram_range,
                text_char_ngram_range=self.text_char_ngram_range,
            )
        except InvalidSpec as exc:
            raise JobConfigError(f"[spec] {exc}") from exc


class FilterConfig(_Section):
    min_chars: int | None = Field(None, ge=0)
    max_chars: int | None = Field(None, ge=1)
    min_hangul: float | None = Field(None, ge=0.0, le=1.0)
    drop_duplicates: bool = False
    drop_normalized_duplicates: bool = False
    label_required: bool = False
    flagged: str | None = Field(None, description="a table with an `id` column of rows to drop")

    def declared(self) -> list[str]:
        """The filters in force, in the order they are applied (first match names the drop)."""
        order = [
            ("label_required", self.label_required),
            ("min_chars", self.min_chars is not None),
            ("max_chars", self.max_chars is not None),
            ("min_hangul", self.min_hangul is not None),
            ("flagged", self.flagged is not None),
            ("drop_duplicates", self.drop_duplicates),
            ("drop_normalized_duplicates", self.drop_normalized_duplicates),
        ]
        return [name for name, on in order if on]


class OutputConfig(_Section):
    path: str
    rows_per_part: int = Field(20_000, ge=1)
    max_rows_per_file: int = Field(50_000, ge=1)
    dropped: str | None = None
    tokens: bool = Field(False, description="also write the unigrams 'form/TAG' per row")


class ServiceConfig(_Section):
    proxy: str = "http://127.0.0.1:8000"
    api_key: str | None = Field(None, repr=False, exclude=True)
    batch_size: int = Field(1000, ge=1, le=10_000)
    concurrency: int = Field(2, ge=1, le=64)
    timeout: float = Field(60.0, gt=0)
    deadline: float = Field(120.0, gt=0)
    retry_budget: float = Field(0.5, ge=0)
    min_retries: int = Field(200, ge=0)

    @field_validator("proxy")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("proxy must be an http(s) URL, e.g. http://127.0.0.1:8000")
        return v.rstrip("/")


class JobConfig(_Section):
    input: InputConfig
    spec: SpecConfig = SpecConfig()
    filters: FilterConfig = FilterConfig()
    output: OutputConfig
    service: ServiceConfig = ServiceConfig()
    master: str = "local[2]"

    def fingerprint_fields(self) -> dict[str, Any]:
        """What decides the output rows: a rerun with other values is another job."""
        return {
            "input": self.input.model_dump(mode="json"),
            "spec": self.spec.model_dump(mode="json"),
            "filters": self.filters.model_dump(mode="json"),
            "rows_per_part": self.output.rows_per_part,
            "tokens": self.output.tokens,
        }

    def job_hash(self) -> str:
        text = json.dumps(self.fingerprint_fields(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def public(self) -> dict[str, Any]:
        """The whole declaration without secrets, as recorded beside the output."""
        return self.model_dump(mode="json")


def load_job(
    config: str | Path | None = None, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> JobConfig:
    """Read `config` (TOML), then apply `overrides` ({section: {field: value}}, None = not given).

    Every problem is one `JobConfigError` naming the file, the field and the rule.
    """
    data: dict[str, Any] = {}
    where = "the command line"
    if config is not None:
        where = str(config)
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise JobConfigError(f"config file {config} not found") from exc
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise JobConfigError(f"cannot read {config}: {exc}") from exc
    for section, values in (overrides or {}).items():
        given = {k: v for k, v in values.items() if v is not None}
        if section == "job":
            data.update(given)
        elif given:
            data[section] = {**data.get(section, {}), **given}
    try:
        job = JobConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"[{'.'.join(str(p) for p in e['loc'])}] {e['msg']}" for e in exc.errors()
        )
        raise JobConfigError(f"{where}: {problems}") from exc
    job.spec.feature_spec()  # the contract's rules, checked before anything starts
    job.input.resolved_format()
    return job
