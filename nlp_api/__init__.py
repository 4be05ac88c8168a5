"""Korean analyzers behind a REST API (FastAPI): morphemes, POS tags and hashed features."""

from nlp_api._app import create_app, run
from nlp_api._config import ApiSettings
from nlp_api._features import hash_terms, ngram_terms, term_index
from nlp_api._jvm import start_jvm
from nlp_api._registry import Registry
from nlp_api._spec import FeatureSpec
from nlp_api.analyzers import Analyzer, Token

__all__ = [
    "Analyzer",
    "ApiSettings",
    "FeatureSpec",
    "Registry",
    "Token",
    "create_app",
    "hash_terms",
    "ngram_terms",
    "run",
    "start_jvm",
    "term_index",
]
