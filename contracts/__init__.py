"""What two stages must agree on, defined once: every stage imports it, it imports none of them.

Nothing here starts a web framework, Spark, an analyzer or onnxruntime: the only third-party
import is `mmh3` (the hashing scheme), and NumPy is imported only by the padding helper.

- `headers`: HTTP header names and the request classes the proxy and the API exchange;
- the feature spec (`FeatureSpec`, `spec_hash`, the hashing scheme `term_index`/`hash_terms`)
  and the feature table's metadata file (`FeatureTableInfo`, read/write);
- the model repository (`ModelRepository`: layout, atomic writes, versions, metadata) and its
  registry (`ModelRegistry`: aliases such as `production`, with who moved them and why);
- the ONNX graph's input and output names (`ONNX_INPUTS`, `ONNX_OUTPUTS`, `pad_rows`);
- RFC 9457 problem `type` URIs (`problem_type`, `problem_body`);
- and one process setting the three servers share: `settle_heap` (garbage collector).
"""

from contracts import headers
from contracts._errors import ContractError, InvalidSpec, RepositoryError, TableMetadataError
from contracts._files import write_json
from contracts._hashing import HASH_SEED, HASHING, TERM_FORMAT, hash_terms, ngram_terms, term_index
from contracts._heap import GC_GEN0_THRESHOLD, settle_heap
from contracts._onnx import (
    INPUT_INDICES,
    INPUT_VALUES,
    ONNX_INPUTS,
    ONNX_OUTPUTS,
    OUTPUT_LABEL,
    OUTPUT_PROBABILITY,
    TensorSpec,
    pad_rows,
    pad_sparse,
)
from contracts._problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_BASE, problem_body, problem_type
from contracts._registry import (
    ARCHIVED,
    CANDIDATE,
    PRODUCTION,
    REGISTRY_FILENAME,
    ModelRegistry,
)
from contracts._repository import METADATA_FILENAME, MODEL_FILENAME, ModelRepository, check_name
from contracts._spec import DEFAULT_NUM_FEATURES, POS_GROUPS, FeatureSpec, spec_hash
from contracts._table import (
    TABLE_METADATA_FILENAME,
    FeatureTableInfo,
    read_table_info,
    write_table_info,
)

__all__ = [
    "ARCHIVED",
    "CANDIDATE",
    "DEFAULT_NUM_FEATURES",
    "GC_GEN0_THRESHOLD",
    "HASHING",
    "HASH_SEED",
    "INPUT_INDICES",
    "INPUT_VALUES",
    "METADATA_FILENAME",
    "MODEL_FILENAME",
    "ONNX_INPUTS",
    "ONNX_OUTPUTS",
    "OUTPUT_LABEL",
    "OUTPUT_PROBABILITY",
    "POS_GROUPS",
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPE_BASE",
    "PRODUCTION",
    "REGISTRY_FILENAME",
    "TABLE_METADATA_FILENAME",
    "TERM_FORMAT",
    "ContractError",
    "FeatureSpec",
    "FeatureTableInfo",
    "InvalidSpec",
    "ModelRegistry",
    "ModelRepository",
    "RepositoryError",
    "TableMetadataError",
    "TensorSpec",
    "check_name",
    "hash_terms",
    "headers",
    "ngram_terms",
    "pad_rows",
    "pad_sparse",
    "problem_body",
    "problem_type",
    "read_table_info",
    "settle_heap",
    "spec_hash",
    "term_index",
    "write_json",
    "write_table_info",
]
